#!/usr/bin/env bash
# Installs, from Debian's packages, the real programs the `tools` test tier runs our files through:
# haproxy (2.6), keepalived (2.2), containerd (1.6), iproute2 (network namespaces for keepalived -t), openssl,
# systemd-analyze (systemd 252: verify, calendar) and shellcheck for the etcd snapshot units and script.
# Idempotent: does nothing when they are present. Needs root (CI runs as root).
set -euo pipefail
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v keepalived >/dev/null || need+=(keepalived)
command -v containerd >/dev/null || need+=(containerd)
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v shellcheck >/dev/null || need+=(shellcheck)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-tools: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts the packaged services on install; the tests run the binaries themselves and need none of them.
for svc in haproxy keepalived; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done
# only this machine's own (its PID namespace): a bare pkill also matched the haproxy and keepalived of the test-bed
# host containers (same kernel, visible from here) and took a running test cluster's VIP down
pkill --ns $$ --nslist pid -x haproxy 2>/dev/null || true
pkill --ns $$ --nslist pid -x keepalived 2>/dev/null || true
echo "setup-tools: $(haproxy -v | head -n1); $(keepalived -v 2>&1 | head -n1); $(containerd --version); $(systemd-analyze --version | head -n1); shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
