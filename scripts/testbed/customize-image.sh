#!/bin/sh
# Turns the debootstrapped base into the test-bed host image. setup.sh pipes this file into a throwaway container
# of airgap-k8s/testbed-base:<key> (`docker run -i --network none -e AIRGAP_K8S_TESTBED_CUSTOMIZE=1 ... sh -s`) and
# commits the result; its text is part of the image key, so editing it rebuilds the image (seconds, not a
# debootstrap). It changes /etc of whatever it runs in: it refuses to run anywhere but such a container.
set -eu
if [ "${AIRGAP_K8S_TESTBED_CUSTOMIZE:-}" != 1 ] || [ ! -f /.dockerenv ]; then
  echo "customize-image.sh: runs only inside the image-build container that setup.sh starts" >&2
  exit 2
fi

# Each container makes its own SSH host keys on first boot, so tests tell hosts apart by fingerprint (and can pin
# them). Only ed25519 and ECDSA: RSA-3072 generation took 5-10 s per container on 2 cores.
rm -f /etc/ssh/ssh_host_*
printf '%s\n' '#!/bin/sh' 'set -e' 'for t in ed25519 ecdsa; do' \
  '  [ -s "/etc/ssh/ssh_host_${t}_key" ] || ssh-keygen -q -t "$t" -N "" -f "/etc/ssh/ssh_host_${t}_key"' 'done' \
  >/usr/local/sbin/airgap-testbed-ssh-hostkeys
chmod 0755 /usr/local/sbin/airgap-testbed-ssh-hostkeys
mkdir -p /etc/systemd/system/ssh.service.d /etc/ssh/sshd_config.d
printf '%s\n' '[Service]' 'ExecStartPre=' 'ExecStartPre=/usr/local/sbin/airgap-testbed-ssh-hostkeys' \
  'ExecStartPre=/usr/sbin/sshd -t' >/etc/systemd/system/ssh.service.d/10-airgap-testbed-hostkeys.conf
printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'HostKey /etc/ssh/ssh_host_ecdsa_key' \
  'PasswordAuthentication no' 'KbdInteractiveAuthentication no' 'UseDNS no' \
  >/etc/ssh/sshd_config.d/10-airgap-testbed.conf

# A machine-id per container (systemd makes one at boot when the file is empty).
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id

# Units with nothing to do in a container; they only make `systemctl is-system-running` degraded or boot slower.
for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-modules-load.service modprobe@.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  dev-hugepages.mount systemd-remount-fs.service getty@tty1.service serial-getty@.service console-getty.service \
  systemd-firstboot.service systemd-journald-audit.socket apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done

# A non-root login with passwordless sudo (createTestbed authorises the run's key for it too).
id airgap >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --user-group airgap
printf 'airgap ALL=(ALL) NOPASSWD:ALL\n' >/etc/sudoers.d/airgap
chmod 0440 /etc/sudoers.d/airgap
echo "customize-image.sh: done"
