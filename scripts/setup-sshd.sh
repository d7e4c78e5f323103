#!/usr/bin/env bash
# Prepares this machine for the `executors` test tier (needs root; CI runs as root). Idempotent.
# - OpenSSH's server from Debian. The tests never use the system service: each run starts its own sshd as a child
#   process on 127.0.0.1 and a free high port, with a temp config, host keys and authorized_keys
#   (test/executors/sshd.ts). Debian's postinst is kept from starting the system sshd (policy-rc.d exit 101).
# - sudo and two local test users without passwords (login only with a key listed in the TEST sshd's temp
#   authorized_keys; the system sshd, if any, knows no key for them):
#     airgap-k8s-sudo    password-less sudo: the ssh executor's sudo path runs the conformance suite as this user
#     airgap-k8s-nosudo  no sudo rights: the executor must refuse with a clear message
# - procps (pgrep) and iproute2 (ss, to find the sshd process serving one connection).
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v sudo >/dev/null || need+=(sudo)
command -v pgrep >/dev/null || need+=(procps)
command -v ss >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-sshd: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd && chmod 0755 /run/sshd
for u in airgap-k8s-sudo airgap-k8s-nosudo; do
  if ! id "$u" >/dev/null 2>&1; then useradd --create-home --shell /bin/sh "$u"; fi
  # '*' (no password) instead of useradd's '!' (locked): sshd without PAM refuses key logins to locked accounts.
  usermod -p '*' "$u"
done
printf 'airgap-k8s-sudo ALL=(ALL) NOPASSWD: ALL\n' >/etc/sudoers.d/airgap-k8s-test.tmp
chmod 0440 /etc/sudoers.d/airgap-k8s-test.tmp
visudo -cq -f /etc/sudoers.d/airgap-k8s-test.tmp
mv -f /etc/sudoers.d/airgap-k8s-test.tmp /etc/sudoers.d/airgap-k8s-test
echo "setup-sshd: $(/usr/sbin/sshd -V 2>&1 | head -n1); $(sudo -V | head -n1)"
