// /usr/local/lib/airgap-k8s/prepare-os.sh: the host preparation of the runbook's init-config.sh, made idempotent.
// Every step says what it did or that nothing was needed; running it twice changes nothing the second time.
//
// Steps that act on the running system (swap, selinux, modules, sysctl, hostname) are separate from the steps that
// rewrite files below $AIRGAP_ROOT (fstab, selinux-config, hosts), so tests can point AIRGAP_ROOT at a scratch tree
// and skip the live steps with AIRGAP_SKIP. Nothing user-written reaches this script except validated values: the
// module and sysctl names are constants, the hosts block markers come from the hosts generator.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { osProfile } from '../../os/profiles.js';
import { HOSTS_BEGIN, HOSTS_END } from '../hosts/hosts.js';
import { hasOverlay } from '../overlay.js';
import { hashMarker, lines, shellScript } from '../render/marker.js';
import type { RenderInputs } from '../types.js';
import { KERNEL_MODULES, SYSCTLS, SYSCTL_PATH, isKubeNode } from './kernel.js';

export { PREPARE_OS_PATH } from '../../host-paths.js';
export const HOSTS_FRAGMENT_PATH = '/etc/hosts.d/airgap-k8s.hosts';
export const BACKUP_SUFFIX = '.airgap-k8s.bak';

/** overlay container-node: the unit that makes / a shared mount at every boot of a node container */
export const RSHARED_UNIT = 'airgap-k8s-rshared.service';
export const RSHARED_UNIT_PATH = `/etc/systemd/system/${RSHARED_UNIT}`;

/** Steps in run order. */
export type PrepareStep = 'swap' | 'fstab' | 'selinux' | 'selinux-config' | 'modules' | 'mounts' | 'sysctl' | 'hosts' | 'hostname';

/** Steps that only rewrite files below $AIRGAP_ROOT; the others act on the running system. */
const FILE_STEPS: ReadonlySet<PrepareStep> = new Set(['fstab', 'selinux-config', 'hosts']);

export function prepareSteps(h: HostView, inputs: Pick<RenderInputs, 'overlay'> = {}): PrepareStep[] {
  const steps: PrepareStep[] = [];
  if (isKubeNode(h)) steps.push('swap', 'fstab');
  // SELinux enforcing (RHEL): container-selinux policy for containerd is not in the bundle, and haproxy may not bind
  // a non-standard port (the runbook's 6553) while enforcing. Permissive keeps the audit log; disabled would need a
  // relabel later.
  if (osProfile(h.os).selinux) steps.push('selinux', 'selinux-config');
  if (isKubeNode(h)) steps.push('modules', ...(hasOverlay(inputs, 'container-node') ? (['mounts'] as const) : []), 'sysctl');
  steps.push('hosts', 'hostname');
  return steps;
}

// The markers are interpolated into an awk program between double quotes: make sure they stay plain text.
for (const m of [HOSTS_BEGIN, HOSTS_END]) {
  if (!/^[# A-Za-z0-9-]+$/.test(m)) throw new Error(`hosts block marker ${JSON.stringify(m)} is not plain text`);
}

const STEP_BODIES: Record<Exclude<PrepareStep, 'sysctl'>, string> = {
  mounts: `# overlay container-node: a container's / is a slave mount, and kubelet's Bidirectional mounts (Calico's bpffs
# under /sys/fs) need it shared. ${RSHARED_UNIT} does that at every boot; this applies it now.
if step mounts; then
  systemctl daemon-reload
  systemctl enable --now ${RSHARED_UNIT}
  log "mounts: / is a shared mount (${RSHARED_UNIT})"
fi`,

  swap: `# The kubelet refuses to start with swap on.
if step swap; then
  if [ -n "$(swapon --show=NAME --noheadings)" ]; then
    swapoff -a
    log "swap: turned off"
  else
    log "swap: already off"
  fi
fi`,

  fstab: `# Keep swap off after a reboot: comment out (never delete) the fstab entries of type swap.
if step fstab; then
  f="$ROOT/etc/fstab"
  if [ -f "$f" ]; then
    awk '$1 !~ /^#/ && $3 == "swap" { print "#airgap-k8s# " $0; next } { print }' "$f" >"$f.airgap-k8s.tmp"
    if replace_content "$f" "$f.airgap-k8s.tmp"; then
      log "fstab: commented out the swap entries of $f (original in $f${BACKUP_SUFFIX})"
    else
      log "fstab: no active swap entries"
    fi
  else
    log "fstab: $f does not exist"
  fi
fi`,

  selinux: `# SELinux permissive now (setenforce lasts until reboot; selinux-config makes it stick).
if step selinux; then
  if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = Enforcing ]; then
    setenforce 0
    log "selinux: switched from enforcing to permissive"
  else
    log "selinux: not enforcing"
  fi
fi`,

  'selinux-config': `if step selinux-config; then
  f="$ROOT/etc/selinux/config"
  if [ -f "$f" ]; then
    sed 's/^SELINUX=enforcing[[:space:]]*$/SELINUX=permissive/' "$f" >"$f.airgap-k8s.tmp"
    if replace_content "$f" "$f.airgap-k8s.tmp"; then
      log "selinux-config: SELINUX=permissive in $f (original in $f${BACKUP_SUFFIX})"
    else
      log "selinux-config: $f is not set to enforcing"
    fi
  else
    log "selinux-config: $f does not exist"
  fi
fi`,

  modules: `# The modules of /etc/modules-load.d/airgap-k8s.conf, loaded now rather than at the next boot. A module already
# in the kernel (loaded, or built in: then modprobe fails for lack of /lib/modules) is left as it is.
# AIRGAP_KERNEL_ROOT (tests) is where /sys and /proc are looked for.
if step modules; then
  KROOT=\${AIRGAP_KERNEL_ROOT:-}
${KERNEL_MODULES.map((m) => `  if [ -d "$KROOT/sys/module/${m.name}" ] || ${m.builtIn}; then
    log "modules: ${m.name} already in the kernel"
  elif modprobe ${m.name}; then
    log "modules: ${m.name} loaded"
  else
    die "modules: ${m.name} is not in the kernel and modprobe ${m.name} failed"
  fi`).join('\n')}
fi`,



  hosts: `# Merge the cluster's block (${HOSTS_FRAGMENT_PATH}) into /etc/hosts: an old block between the markers is
# replaced where it stands, or the block is appended; the host's own lines are kept as they are.
if step hosts; then
  f="$ROOT/etc/hosts"
  frag="$ROOT${HOSTS_FRAGMENT_PATH}"
  [ -f "$frag" ] || die "hosts: $frag is missing (it is rendered with this script)"
  [ -f "$f" ] || : >"$f"
  if ! FRAG="$frag" awk '
    function emit(  l) { while ((getline l < ENVIRON["FRAG"]) > 0) print l; close(ENVIRON["FRAG"]); done = 1 }
    { t = $0; sub(/[ \\t\\r]+$/, "", t) }
    t == "${HOSTS_BEGIN}" { if (!done) emit(); inblock = 1; next }
    inblock { if (t == "${HOSTS_END}") inblock = 0; next }
    { print }
    END { if (inblock) exit 3; if (!done) emit() }
  ' "$f" >"$f.airgap-k8s.tmp"; then
    rm -f "$f.airgap-k8s.tmp"
    die "hosts: $f has '${HOSTS_BEGIN}' without '${HOSTS_END}'; fix it by hand, nothing was changed"
  fi
  if replace_content "$f" "$f.airgap-k8s.tmp"; then
    log "hosts: wrote the airgap-k8s block into $f (original in $f${BACKUP_SUFFIX})"
  else
    log "hosts: $f is up to date"
  fi
fi`,

  hostname: `# /etc/hostname is rendered with this script; hostnamectl also sets the running (transient) hostname.
# hostname(5) allows comment lines: take the first other line.
if step hostname; then
  name=$(awk '!/^[[:space:]]*(#|$)/ { print $1; exit }' "$ROOT/etc/hostname")
  [ -n "$name" ] || die "hostname: $ROOT/etc/hostname holds no name"
  if [ "$(hostname)" = "$name" ]; then
    log "hostname: already $name"
  else
    hostnamectl set-hostname "$name"
    log "hostname: set to $name"
  fi
fi`,
};

const SYSCTL_CHECK = `  wrong=""
${SYSCTLS.map((s) => `  [ "$(sysctl -n ${s.key})" = ${s.value} ] || wrong="$wrong ${s.key}"`).join('\n')}`;

// The container-node overlay writes our keys into the container's own network namespace: each of them must be one.
for (const s of SYSCTLS) {
  if (!/^net\.(ipv4|bridge)\./.test(s.key)) throw new Error(`sysctl ${s.key}: the container-node overlay only knows per-network-namespace keys`);
}

function sysctlStep(inputs: Pick<RenderInputs, 'overlay'>): string {
  if (hasOverlay(inputs, 'container-node')) {
    return `# Our kernel settings. overlay container-node: each key is per network namespace and is written into this
# container's. The distribution's sysctl files are not applied here: their global settings would change the kernel
# every container on this machine shares.
if step sysctl; then
  sysctl -q -w ${SYSCTLS.map((s) => `${s.key}=${s.value}`).join(' ')}
${SYSCTL_CHECK}
  [ -z "$wrong" ] || die "sysctl: not in effect after sysctl -w:$wrong"
  log "sysctl: ${SYSCTLS.map((s) => `${s.key}=${s.value}`).join(' ')} (this network namespace)"
fi`;
  }
  return `# Apply every sysctl file as the boot does, then check ours won: a later file (99-sysctl.conf sorts after
# 99-airgap-k8s.conf) could override a value and break the node only at the next reboot.
if step sysctl; then
  sysctl --system >/dev/null || log "sysctl: sysctl --system reported errors (above); checking our values"
${SYSCTL_CHECK}
  [ -z "$wrong" ] || die "sysctl: not in effect after sysctl --system:$wrong (another file overrides ${SYSCTL_PATH})"
  log "sysctl: ${SYSCTLS.map((s) => `${s.key}=${s.value}`).join(' ')}"
fi`;
}

export function rsharedUnit(view: ClusterView): string {
  return lines(
    hashMarker(view.name).trimEnd(),
    '# overlay container-node: kubelet and Calico need / to be a shared mount; in a container it is a slave one.',
    '[Unit]',
    'Description=airgap-k8s overlay container-node: make / a shared mount',
    'DefaultDependencies=no',
    'Before=containerd.service kubelet.service',
    '',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/bin/mount --make-rshared /',
    'RemainAfterExit=yes',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  );
}

export function prepareOsScript(view: ClusterView, h: HostView, inputs: Pick<RenderInputs, 'overlay'> = {}): string {
  const steps = prepareSteps(h, inputs);
  return shellScript(
    view.name,
    `# OS preparation for ${h.name} (the runbook's init-config.sh). Idempotent: a second run changes nothing.
# Steps, in order: ${steps.join(' ')}.
#   acting on the running system: ${steps.filter((s) => !FILE_STEPS.has(s)).join(' ')}
#   rewriting files below $AIRGAP_ROOT (default: /): ${steps.filter((s) => FILE_STEPS.has(s)).join(' ')}
# AIRGAP_SKIP="step ..." skips steps (tests run the file steps against a scratch root).
set -eu

ROOT=\${AIRGAP_ROOT:-}
SKIP=" \${AIRGAP_SKIP:-} "

log() { echo "prepare-os: $*"; }
die() {
  echo "prepare-os: $*" >&2
  exit 1
}
# step NAME: true unless NAME is in AIRGAP_SKIP.
step() {
  case $SKIP in
    *" $1 "*)
      log "$1: skipped (AIRGAP_SKIP)"
      return 1
      ;;
  esac
  return 0
}
# replace_content FILE NEW: give FILE the content of NEW (then removed); false when they were already equal.
# The content is written into FILE itself, which keeps its inode, owner, mode and SELinux label (/etc/hosts is
# net_conf_t; a rename would leave etc_t) and follows a symlink. The first original is kept as FILE${BACKUP_SUFFIX}.
replace_content() {
  if cmp -s "$2" "$1"; then
    rm -f "$2"
    return 1
  fi
  [ -e "$1${BACKUP_SUFFIX}" ] || cp -p "$1" "$1${BACKUP_SUFFIX}"
  cat "$2" >"$1"
  rm -f "$2"
}

${steps.map((s) => (s === 'sysctl' ? sysctlStep(inputs) : STEP_BODIES[s])).join('\n\n')}

log "done"`,
  );
}
