// Scheduled etcd snapshots (spec.etcd.snapshots) on every control plane: a script that snapshots the host's own
// etcd member, a oneshot service running it and a timer starting the service on the spec's schedule:
//   /usr/local/lib/airgap-k8s/etcd-snapshot.sh         fixed text; every value is an argument of ExecStart
//   /etc/systemd/system/airgap-k8s-etcd-snapshot.service
//   /etc/systemd/system/airgap-k8s-etcd-snapshot.timer  enabled and started by the plan
// The script works as `airgap-k8s etcd snapshot` does (src/day2/etcdctl.ts, src/day2/etcd.ts): etcdctl and etcdutl
// inside the running etcd container through crictl, with kubeadm's health-check client certificate, so it needs
// neither the API server nor an etcd client on the host. Values reach the unit file validated by the schema (an
// absolute path without spaces or metacharacters, a whole number, an RFC 1123 host name, a calendar expression of a
// safe character set), none of them holds "%", so systemd's specifiers and word splitting leave them as they are.
import type { ClusterView, HostView } from '../../spec/derive.js';
import { ETCD_SNAPSHOT_SCRIPT, ETCD_SNAPSHOT_SERVICE, ETCD_SNAPSHOT_TIMER, SYSTEMD_UNIT_DIR } from '../../host-paths.js';
import { hashMarker, lines, shellScript } from '../render/marker.js';
import { hostFile, hostUnits, type Generator, type HostUnit } from '../types.js';

export const SERVICE_PATH = `${SYSTEMD_UNIT_DIR}/${ETCD_SNAPSHOT_SERVICE}`;
export const TIMER_PATH = `${SYSTEMD_UNIT_DIR}/${ETCD_SNAPSHOT_TIMER}`;
/** where the etcd container sees the host's disk: kubeadm mounts the host's /var/lib/etcd at the same path */
export const ETCD_STAGING_DIR = '/var/lib/etcd';
/**
 * How long each host waits past the scheduled time, at random: the control planes do not all snapshot (streaming
 * the whole database out of etcd and writing it to disk) in the same second.
 */
export const RANDOMIZED_DELAY = '5min';
/** a large etcd (8 GiB is its default quota) takes minutes to stream and copy; a hung crictl must not block for ever */
export const SNAPSHOT_TIMEOUT = '30min';

/** What one control plane's files say, derived before any text is written. */
export interface EtcdBackupHost {
  cluster: string;
  host: string;
  schedule: string;
  keep: number;
  dir: string;
}

/** One entry per control plane when snapshots are enabled, in spec order. */
export function etcdBackupHosts(view: ClusterView): EtcdBackupHost[] {
  const s = view.cluster.spec.etcd.snapshots;
  if (!s.enabled) return [];
  return view.controlPlanes.map((h: HostView) => ({ cluster: view.name, host: h.name, schedule: s.schedule, keep: s.keep, dir: s.dir }));
}

/** The argv of ExecStart: the script and its values (no shell in between; systemd splits on spaces, none in a value). */
export function snapshotArgv(b: EtcdBackupHost): string[] {
  return [ETCD_SNAPSHOT_SCRIPT, b.dir, String(b.keep), b.host];
}

const ETCDCTL_TLS = '--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key';

/** The script: the same text for every host and spec but its marker; what differs comes as arguments. */
export function renderSnapshotScript(cluster: string): string {
  return shellScript(
    cluster,
    lines(
      `# ${ETCD_SNAPSHOT_SCRIPT} DIR KEEP HOST [STAGING], run by ${ETCD_SNAPSHOT_SERVICE} on its timer.`,
      '#',
      "# A snapshot of this host's own etcd member: etcdctl snapshot save inside the running etcd container (crictl",
      "# exec, kubeadm's health-check client certificate), checked there with etcdutl snapshot status, then written",
      '# atomically as DIR/etcd-HOST-<UTC time>.db, mode 0600 (it holds every Secret of the cluster), with its',
      '# DIR/etcd-HOST-<UTC time>.db.sha256 (sha256sum -c reads it in DIR); of this host\'s snapshots in DIR the newest',
      '# KEEP stay. STAGING (default /var/lib/etcd) is where the etcd container sees the host\'s disk at the same path;',
      '# the snapshot is saved there first. Exits non-zero with a message on any failure, keeping nothing half-made.',
      'set -eu',
      'export LC_ALL=C',
      'umask 077',
      '',
      'fail() {',
      '    echo "etcd-snapshot: $*" >&2',
      '    exit 1',
      '}',
      '',
      '[ $# -ge 3 ] || fail "usage: $0 DIR KEEP HOST [STAGING]"',
      `dir=$1 keep=$2 host=$3 staging=\${4:-${ETCD_STAGING_DIR}}`,
      'case $dir in /*) ;; *) fail "DIR must be an absolute path, not \'$dir\'" ;; esac',
      'case $keep in \'\' | *[!0-9]*) fail "KEEP must be a whole number, not \'$keep\'" ;; esac',
      '[ "$keep" -ge 1 ] || fail "KEEP must be at least 1"',
      '',
      "ids=$(crictl ps --name '^etcd$' --state running -q) || fail \"crictl ps failed: is containerd running?\"",
      'id=$(printf \'%s\\n\' "$ids" | head -n 1)',
      '[ -n "$id" ] || fail "no running etcd container on this host"',
      '',
      '# created 0700 (umask); an existing directory keeps its mode',
      '[ -d "$dir" ] || mkdir -p "$dir" || fail "cannot create $dir"',
      'ts=$(date -u +%Y%m%dT%H%M%SZ)',
      'name=etcd-$host-$ts.db',
      'staged=$staging/.airgap-k8s-snapshot-$ts-$$.db',
      'part=$dir/.$name.part',
      '# whatever stops the script, nothing half-made stays (etcdctl itself writes $staged.part first)',
      'trap \'rm -f "$staged" "$staged.part" "$part" "$part.sha256"\' EXIT',
      "trap 'exit 1' HUP INT TERM",
      '',
      `crictl exec "$id" etcdctl ${ETCDCTL_TLS} snapshot save "$staged" || fail "etcdctl snapshot save failed"`,
      'crictl exec "$id" etcdutl snapshot status "$staged" -w table || fail "etcdutl snapshot status refused the snapshot; nothing kept"',
      '',
      'sum=$(sha256sum "$staged") || fail "cannot read $staged"',
      'sum=${sum%% *}',
      '# a copy, not a move: $staging and $dir may be different file systems, where mv is not atomic',
      'cp "$staged" "$part" || fail "cannot copy the snapshot into $dir (is the disk full?)"',
      'chmod 0600 "$part"',
      'got=$(sha256sum "$part") || fail "cannot read $part"',
      'got=${got%% *}',
      '[ "$got" = "$sum" ] || fail "the copy in $dir differs from the snapshot (sha256 $got, not $sum)"',
      'sync "$part" || fail "cannot flush $part to disk"',
      'printf \'%s  %s\\n\' "$sum" "$name" >"$part.sha256"',
      '# the snapshot under its name first, then its checksum: a .sha256 beside a .db means the .db is whole',
      'mv -f "$part" "$dir/$name" || fail "cannot rename $part"',
      'mv -f "$part.sha256" "$dir/$name.sha256" || fail "cannot rename $part.sha256"',
      'echo "etcd-snapshot: $dir/$name ($(wc -c <"$dir/$name") bytes, sha256 $sum)"',
      '',
      "# this host's snapshots only (never another host's, even in a shared DIR), oldest first: UTC times sort as text",
      'stamp=\'[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z\'',
      '# shellcheck disable=SC2086 # $stamp unquoted on purpose: it is the pattern',
      'set -- "$dir"/etcd-"$host"-$stamp.db',
      '[ -e "$1" ] || set --',
      'n=$#',
      'while [ "$n" -gt "$keep" ]; do',
      '    rm -f -- "$1" "$1.sha256" || fail "cannot remove the old snapshot $1"',
      '    echo "etcd-snapshot: removed $1 (the newest $keep are kept)"',
      '    shift',
      '    n=$((n - 1))',
      'done',
    ),
  );
}

export function renderSnapshotService(b: EtcdBackupHost): string {
  return lines(
    hashMarker(b.cluster).trimEnd(),
    `# A snapshot of ${b.host}'s etcd member into ${b.dir} (the newest ${b.keep} kept), started by ${ETCD_SNAPSHOT_TIMER}.`,
    '# Run one now: systemctl start ' + ETCD_SNAPSHOT_SERVICE + '; its output: journalctl -u ' + ETCD_SNAPSHOT_SERVICE,
    '[Unit]',
    "Description=airgap-k8s: snapshot of this control plane's etcd member",
    'After=containerd.service kubelet.service',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${snapshotArgv(b).join(' ')}`,
    'UMask=0077',
    // a backup is background work: etcd and the API server on the same host come first
    'Nice=10',
    'IOSchedulingClass=best-effort',
    'IOSchedulingPriority=7',
    `TimeoutStartSec=${SNAPSHOT_TIMEOUT}`,
  );
}

export function renderSnapshotTimer(b: EtcdBackupHost): string {
  return lines(
    hashMarker(b.cluster).trimEnd(),
    `# Starts ${ETCD_SNAPSHOT_SERVICE} on the schedule of spec.etcd.snapshots (next runs: systemctl list-timers ${ETCD_SNAPSHOT_TIMER}).`,
    '# Persistent: a run missed while the host was off happens when it is back.',
    '[Unit]',
    `Description=airgap-k8s: scheduled etcd snapshots (${b.schedule})`,
    '',
    '[Timer]',
    `OnCalendar=${b.schedule}`,
    'Persistent=true',
    `RandomizedDelaySec=${RANDOMIZED_DELAY}`,
    `Unit=${ETCD_SNAPSHOT_SERVICE}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  );
}

/**
 * Scheduled etcd snapshots (spec.etcd.snapshots): on every control plane the snapshot script, its oneshot service
 * and the timer that runs it, enabled by the plan. Renders nothing while snapshots are off.
 */
export const etcdBackupGenerator: Generator = {
  name: 'etcd-backup',
  units(view: ClusterView): HostUnit[] {
    const hosts = etcdBackupHosts(view);
    const files = hosts.flatMap((b) => [
      hostFile('etcd-backup', b.host, ETCD_SNAPSHOT_SCRIPT, renderSnapshotScript(b.cluster), { mode: 0o755 }),
      hostFile('etcd-backup', b.host, SERVICE_PATH, renderSnapshotService(b)),
      hostFile('etcd-backup', b.host, TIMER_PATH, renderSnapshotTimer(b)),
    ]);
    // In the phase that makes the host a control plane (the first one's or the others'), so the timer exists on
    // exactly the control planes and a day-two apply that turns snapshots on runs just these steps there. The
    // planner writes a phase's files before its kubeadm init/join, so the timer starts before etcd runs: a timer
    // only waits for its schedule (and Persistent=true has no missed run to catch up on a new host), and a run that
    // came before etcd would fail with "no running etcd container", never snapshot something else. Only the timer is
    // enabled and started: starting the service would take a snapshot there and then.
    const first = view.firstControlPlane.name;
    return hostUnits('etcd-backup', files, (host) => (host === first ? 'first-control-plane' : 'control-planes'), {
      services: [ETCD_SNAPSHOT_TIMER],
      reloadsSystemd: true,
    });
  },
};
