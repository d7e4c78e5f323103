// etcd backup and restore as plans (pure): `airgap-k8s etcd snapshot` takes a snapshot on a control plane, checks
// it with etcdutl there and brings it back here with its sha256; `airgap-k8s etcd restore` follows the documented
// restore of a kubeadm HA cluster: every API server and etcd member stopped, each member's data dir made anew
// from the same snapshot (one new cluster token, the same members and peer URLs), etcd started everywhere and
// healthy, then the API servers, then the controllers restarted so nothing acts on a cache of the old state.
import type { ClusterView, HostView } from '../spec/derive.js';
import type { Plan, Retry, Step } from '../plan/types.js';
import { etcdctl } from './etcdctl.js';
import { restartStaticPod, waitApiServerReady } from './static-pods.js';
import { apiServerBindPort } from '../generators/kubeadm/kubeadm.js';

const MIN = 60_000;
const ONCE: Retry = { attempts: 1, backoffMs: 0 };

/** Where a snapshot is made on the control plane: inside etcd's data mount (the etcd container sees the same path). */
export const SNAPSHOT_ON_HOST = '/var/lib/etcd/airgap-k8s-snapshot.db';
/** Where a restore puts the snapshot on every control plane, and its working directory. */
export const RESTORE_DIR = '/var/lib/airgap-k8s-restore';
const MANIFESTS = '/etc/kubernetes/manifests';
const STOPPED = '/etc/kubernetes/airgap-k8s-stopped';

export function etcdSnapshotPlan(view: ClusterView, to: string, host: HostView = view.firstControlPlane): Plan {
  const base = { phase: 'etcd-snapshot' as const, host: host.name, retry: ONCE };
  const steps: Step[] = [
    {
      ...base,
      id: `etcd-snapshot/${host.name}/save`,
      kind: 'exec',
      description: `etcdctl snapshot save on ${host.name}'s etcd member, then etcdutl snapshot status checks it`,
      argv: [...etcdctl('snapshot', 'save', SNAPSHOT_ON_HOST)],
      timeoutMs: 10 * MIN,
    },
    {
      ...base,
      id: `etcd-snapshot/${host.name}/status`,
      kind: 'exec',
      readOnly: true,
      description: 'etcdutl snapshot status: the file is a whole, readable snapshot (hash, revision, keys)',
      argv: ['sh', '-c', "id=$(crictl ps --name '^etcd$' --state running -q | head -n1) && [ -n \"$id\" ] && crictl exec \"$id\" etcdutl snapshot status \"$1\" -w table", 'snapshot-status', SNAPSHOT_ON_HOST],
      timeoutMs: 5 * MIN,
    },
    {
      ...base,
      id: `etcd-snapshot/${host.name}/fetch`,
      kind: 'fetch-file',
      description: `bring the snapshot back to this machine (${to}, 0600: it holds every Secret of the cluster)`,
      path: SNAPSHOT_ON_HOST,
      to,
      timeoutMs: 30 * MIN,
    },
    {
      ...base,
      id: `etcd-snapshot/${host.name}/clean`,
      kind: 'exec',
      description: 'remove the snapshot from the control plane (it holds every Secret of the cluster)',
      argv: ['rm', '-f', SNAPSHOT_ON_HOST],
      timeoutMs: MIN,
    },
  ];
  return { cluster: view.name, phases: [{ name: 'etcd-snapshot', serial: true, ordered: true, steps }] };
}

/**
 * The restore of `from` (sha256 `sha256`, checked on every host) onto every control plane. `token` names the new
 * etcd cluster (--initial-cluster-token; the CLI derives it from the snapshot's sha256 so a rerun uses the same).
 */
export function etcdRestorePlan(view: ClusterView, from: string, sha256: string): Plan {
  const cps = view.controlPlanes;
  const token = `airgap-k8s-restore-${sha256.slice(0, 12)}`;
  const initialCluster = cps.map((h) => `${h.name}=https://${h.address}:2380`).join(',');
  const snapshot = `${RESTORE_DIR}/snapshot.db`;
  const base = { phase: 'etcd-restore' as const, retry: ONCE, destructive: true };
  const steps: Step[] = [];
  for (const h of cps) {
    steps.push({
      ...base,
      destructive: undefined,
      id: `etcd-restore/${h.name}/snapshot`,
      host: h.name,
      kind: 'push-file',
      description: `put the snapshot on ${h.name}`,
      from,
      path: snapshot,
      sha256,
      mode: 0o600,
      timeoutMs: 30 * MIN,
      probe: { kind: 'file', path: snapshot, sha256, mode: 0o600 },
    });
  }
  // every member told to stop first, then each waited for: they shut down side by side
  for (const h of cps) {
    steps.push({
      ...base,
      id: `etcd-restore/${h.name}/stop`,
      host: h.name,
      kind: 'exec',
      description: `stop kube-apiserver and etcd on ${h.name} (their static pod manifests moved aside)`,
      argv: ['sh', '-c', 'mkdir -p "$2" && for c in kube-apiserver etcd; do if [ -f "$1/$c.yaml" ]; then mv "$1/$c.yaml" "$2/$c.yaml"; fi; done', 'stop', MANIFESTS, STOPPED],
      timeoutMs: MIN,
    });
  }
  for (const h of cps) {
    steps.push({
      ...base,
      destructive: undefined,
      id: `etcd-restore/${h.name}/stopped`,
      host: h.name,
      kind: 'exec',
      readOnly: true,
      description: `wait until kube-apiserver and etcd no longer run on ${h.name}`,
      argv: ['sh', '-c', WAIT_STOPPED],
      timeoutMs: 3 * MIN,
    });
  }
  for (const h of cps) {
    steps.push({
      ...base,
      id: `etcd-restore/${h.name}/data`,
      host: h.name,
      kind: 'exec',
      description: `make ${h.name}'s etcd data dir anew from the snapshot (etcdutl snapshot restore, cluster token ${token}); the old one kept as /var/lib/etcd.before-restore`,
      argv: ['sh', '-c', RESTORE_SCRIPT, 'restore', snapshot, h.name, `https://${h.address}:2380`, initialCluster, token, STOPPED, RESTORE_DIR],
      timeoutMs: 15 * MIN,
      probe: { kind: 'command', argv: ['test', '-f', `${RESTORE_DIR}/${token}.done`] },
    });
  }
  for (const h of cps) {
    steps.push({
      ...base,
      destructive: undefined,
      id: `etcd-restore/${h.name}/start-etcd`,
      host: h.name,
      kind: 'exec',
      description: `start etcd on ${h.name} again`,
      argv: ['sh', '-c', 'if [ -f "$2/etcd.yaml" ]; then mv "$2/etcd.yaml" "$1/etcd.yaml"; fi', 'start-etcd', MANIFESTS, STOPPED],
      timeoutMs: MIN,
    });
  }
  steps.push({
    ...base,
    destructive: undefined,
    id: `etcd-restore/${view.firstControlPlane.name}/etcd-healthy`,
    host: view.firstControlPlane.name,
    kind: 'wait-for',
    readOnly: true,
    description: `wait for all ${cps.length} etcd members to be healthy`,
    argv: etcdctl('endpoint', 'health', '--cluster'),
    intervalMs: 3_000,
    timeoutMs: 10 * MIN,
  });
  for (const h of cps) {
    steps.push({
      ...base,
      destructive: undefined,
      id: `etcd-restore/${h.name}/start-apiserver`,
      host: h.name,
      kind: 'exec',
      description: `start kube-apiserver on ${h.name} again`,
      argv: ['sh', '-c', 'if [ -f "$2/kube-apiserver.yaml" ]; then mv "$2/kube-apiserver.yaml" "$1/kube-apiserver.yaml"; fi', 'start-apiserver', MANIFESTS, STOPPED],
      timeoutMs: MIN,
    });
    steps.push({
      ...base,
      destructive: undefined,
      id: `etcd-restore/${h.name}/apiserver-ready`,
      host: h.name,
      kind: 'exec',
      readOnly: true,
      description: `wait for kube-apiserver on ${h.name} to answer /readyz`,
      argv: waitApiServerReady(h.address, apiServerBindPort(view)),
      timeoutMs: 6 * MIN,
    });
  }
  for (const h of cps) {
    steps.push({
      ...base,
      destructive: undefined,
      id: `etcd-restore/${h.name}/restart/controllers`,
      host: h.name,
      kind: 'exec',
      description: `restart kube-controller-manager and kube-scheduler on ${h.name} (their caches knew the state before the restore)`,
      argv: restartStaticPod('kube-controller-manager', 'kube-scheduler'),
      timeoutMs: 5 * MIN,
    });
  }
  for (const s of steps) if (!s.destructive) delete s.destructive;
  return { cluster: view.name, phases: [{ name: 'etcd-restore', serial: true, ordered: true, steps }] };
}

/** Waits (2 minutes at most) until neither etcd nor kube-apiserver runs here any more. */
const WAIT_STOPPED = [
  'i=0',
  "while [ -n \"$(crictl ps --name '^(etcd|kube-apiserver)$' -q)\" ]; do",
  '  i=$((i+1)); [ $i -le 120 ] || { echo "etcd or kube-apiserver still running 120 s after their manifests were moved" >&2; exit 1; }',
  '  sleep 1',
  'done',
].join('\n');

/**
 * $1 snapshot, $2 member name, $3 its peer URL, $4 initial cluster, $5 cluster token, $6 the stopped manifests
 * (the etcd image is read from there), $7 working dir. etcdutl runs from the etcd image itself (ctr run), so the
 * host needs no etcd binaries. The old data dir is kept once as /var/lib/etcd.before-restore.
 */
const RESTORE_SCRIPT = [
  'set -eu',
  'snap=$1 name=$2 peer=$3 initial=$4 token=$5 stopped=$6 work=$7',
  'img=$(sed -n "s/^ *image: *//p" "$stopped/etcd.yaml" | head -n1)',
  '[ -n "$img" ] || { echo "no etcd image in $stopped/etcd.yaml" >&2; exit 1; }',
  'rm -rf "$work/data"',
  'ctr -n k8s.io run --rm --mount "type=bind,src=$work,dst=$work,options=rbind:rw" "$img" "airgap-k8s-etcd-restore-$$" \\',
  '  etcdutl snapshot restore "$snap" --name "$name" --initial-cluster "$initial" --initial-cluster-token "$token" \\',
  '  --initial-advertise-peer-urls "$peer" --data-dir "$work/data"',
  'rm -rf /var/lib/etcd.before-restore',
  'if [ -d /var/lib/etcd ]; then mv /var/lib/etcd /var/lib/etcd.before-restore; fi',
  'mv "$work/data" /var/lib/etcd',
  'chmod 0700 /var/lib/etcd',
  'touch "$work/$token.done"',
].join('\n');
