// Day two by editing the spec: the plan an `apply` runs on a cluster that was applied before. From the plan of the
// spec last applied and the plan of the new spec (./diff.ts): only the steps that are new or different, the
// handlers they trigger and the checks around them; hosts gone from the spec drained, reset and deleted from the
// cluster (and from etcd), one step at a time, each step marked destructive. Changes a running cluster cannot take
// are refused before anything runs, all at once. Pure.
import type { ClusterView, HostView } from '../spec/derive.js';
import { PHASES, type Phase, type Plan, type Step } from '../plan/types.js';
import { stepFingerprint } from '../plan/fingerprint.js';
import { ADMIN_KUBECONFIG, ETCD_SNAPSHOT_TIMER, KUBEADM_DIR, KUBELET_KUBECONFIG } from '../host-paths.js';
import { diffPlans, type PlanDiff } from './diff.js';
import { etcdMemberAbsent, etcdOthersHealthy, etcdRemoveMember } from './etcdctl.js';

const MIN = 60_000;
const kubectl = (...args: string[]) => ['kubectl', '--kubeconfig', ADMIN_KUBECONFIG, ...args];

/** What an apply installed: the view of its spec and its whole plan (kept beside the journal for the next apply). */
export interface Applied {
  view: ClusterView;
  plan: Plan;
}

/**
 * What a new spec changes on a running cluster: the plan to apply, its diff, the hosts removed and the destructive
 * steps that need confirmation.
 */
export interface ChangePlan {
  /** what an apply runs: the new plan's changed part, then the removals */
  plan: Plan;
  diff: PlanDiff;
  /** hosts gone from the spec, as the last applied spec had them (their executors reach them for the reset) */
  removed: HostView[];
  /** steps that need the user's confirmation before the plan may start */
  destructive: Step[];
}

/** The new spec cannot be applied to the running cluster as it is; every reason, none applied. */
export class ChangeRefusedError extends Error {
  constructor(readonly problems: string[]) {
    super(`this change cannot be applied to the running cluster:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ChangeRefusedError';
  }
}

/** Why `after` cannot be applied over `before` (empty: it can). */
export function refusals(before: ClusterView, after: ClusterView): string[] {
  const out: string[] = [];
  const b = before.cluster.spec;
  const a = after.cluster.spec;
  if (before.name !== after.name) out.push(`metadata.name: the cluster was applied as "${before.name}"; a spec named "${after.name}" is another cluster`);
  if (before.kubernetesVersion !== after.kubernetesVersion) {
    out.push(`spec.kubernetesVersion: ${before.kubernetesVersion} -> ${after.kubernetesVersion} is an upgrade: run \`airgap-k8s upgrade\`, which follows kubeadm's order`);
  }
  const same = (what: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${what}: cannot change on a running cluster (${JSON.stringify(x)} -> ${JSON.stringify(y)})`);
  };
  same('spec.controlPlane.endpoint', b.controlPlane.endpoint, a.controlPlane.endpoint);
  same('spec.network.podSubnet', b.network.podSubnet, a.network.podSubnet);
  same('spec.network.serviceSubnet', b.network.serviceSubnet, a.network.serviceSubnet);
  same('spec.network.dnsDomain', b.network.dnsDomain, a.network.dnsDomain);
  const old = new Map(before.hosts.map((h) => [h.name, h]));
  after.hosts.forEach((h, i) => {
    const o = old.get(h.name);
    if (!o) return;
    if (o.address !== h.address) out.push(`spec.hosts[${i}].address: ${h.name} was applied at ${o.address}; to move a host, remove it in one apply and add it in the next`);
    if (o.isControlPlane !== h.isControlPlane || o.isWorker !== h.isWorker) {
      out.push(`spec.hosts[${i}].roles: ${h.name} changes between control plane and worker; remove it in one apply and add it back in the next`);
    }
  });
  if (!before.controlPlanes.some((h) => h.name === after.firstControlPlane.name)) {
    out.push(`spec.hosts: the first control plane (${after.firstControlPlane.name}) runs the cluster steps and must be a control plane of the running cluster (${before.controlPlanes.map((h) => h.name).join(', ')}): list one of them first`);
  }
  const leaving = before.controlPlanes.filter((h) => !after.hosts.some((x) => x.name === h.name));
  const tolerable = Math.floor((before.controlPlanes.length - 1) / 2);
  if (leaving.length > tolerable) {
    out.push(
      `spec.hosts: removing ${leaving.length} of ${before.controlPlanes.length} control planes at once (${leaving.map((h) => h.name).join(', ')}) could lose the etcd quorum if one more member failed meanwhile; remove at most ${tolerable} per apply`,
    );
  }
  return out;
}

/**
 * The plan that takes a cluster applied as `before` to `after`. Throws ChangeRefusedError when it cannot.
 * Steps of the new plan kept: every step that is new or differs from the old plan's, every handler whose trigger
 * is kept, the preflight checks of the hosts it touches (and of the bundle when something comes from it), and
 * every verify check.
 */
export function changePlan(before: Applied, after: Applied, opts: { full?: boolean } = {}): ChangePlan {
  const problems = refusals(before.view, after.view);
  if (problems.length > 0) throw new ChangeRefusedError(problems);
  const diff = diffPlans(before.plan, after.plan);
  const old = new Map(before.plan.phases.flatMap((p) => p.steps).map((s) => [s.id, stepFingerprint(s)]));
  const steps = after.plan.phases.flatMap((p) => p.steps);
  // full: every step of the new plan (each probed on its host), as a first install runs them
  const keep = new Set(steps.filter((s) => opts.full || (!s.readOnly && old.get(s.id) !== stepFingerprint(s))).map((s) => s.id));
  // handlers of kept steps (a restart after its configuration changed), until nothing more is added
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of steps) {
      if (!keep.has(s.id) && s.onChangeOf?.some((d) => keep.has(d))) {
        keep.add(s.id);
        grew = true;
      }
    }
  }
  const removed = before.view.hosts.filter((h) => !after.view.hosts.some((x) => x.name === h.name));
  const retire = retiredSteps(before.plan, after.plan, new Set(removed.map((h) => h.name)));
  const touched = new Set([...steps.filter((s) => keep.has(s.id) && s.host).map((s) => s.host!), ...retire.map((s) => s.host!)]);
  const fromBundle = steps.some((s) => keep.has(s.id) && (s.kind === 'upload' || s.kind === 'import-images' || s.kind === 'install-packages' || (s.needs?.length ?? 0) > 0));
  const anything = keep.size > 0 || removed.length > 0 || retire.length > 0;
  const checks = (s: Step): boolean => {
    if (!s.readOnly || !anything) return false;
    if (s.kind === 'verify-bundle') return fromBundle;
    if (s.phase === 'preflight') return s.host !== null && touched.has(s.host);
    return s.phase === 'verify';
  };
  const phases: Phase[] = after.plan.phases
    .map((p) => ({ ...p, steps: [...p.steps.filter((s) => keep.has(s.id) || checks(s)), ...retire.filter((s) => s.phase === p.name)] }))
    .filter((p) => p.steps.length > 0);
  // a phase the new plan no longer has on any host (everything of it turned off): its retirements alone
  for (const ph of before.plan.phases) {
    const mine = retire.filter((s) => s.phase === ph.name);
    if (mine.length > 0 && !phases.some((p) => p.name === ph.name)) phases.push({ ...ph, steps: mine });
  }
  phases.sort((x, y) => PHASES.indexOf(x.name) - PHASES.indexOf(y.name));
  if (removed.length > 0) {
    // workers first, then control planes; each host's steps in order, one step at a time
    const ordered = [...removed.filter((h) => !h.isControlPlane), ...removed.filter((h) => h.isControlPlane)];
    phases.push({ name: 'remove-nodes', serial: true, ordered: true, steps: ordered.flatMap((h) => removalSteps(h)) });
    phases.sort((x, y) => PHASES.indexOf(x.name) - PHASES.indexOf(y.name));
  }
  const plan: Plan = { ...after.plan, phases };
  const destructive = phases.flatMap((p) => p.steps).filter((s) => s.destructive);
  return { plan, diff, removed, destructive };
}

/**
 * What the last apply put on a host that stays and the new spec no longer asks for (a feature turned off, e.g.
 * spec.etcd.snapshots): each service it enabled is disabled and stopped, each file it wrote is removed, then systemd
 * re-reads its units when a unit file went. In the phase that placed them, after that phase's own steps, per host.
 * Hosts leaving the cluster are not retired here: their reset removes everything. Not destructive: what goes is
 * what airgap-k8s wrote and the spec no longer wants (data such as snapshots stays where it is).
 */
export function retiredSteps(before: Plan, after: Plan, leaving: ReadonlySet<string>): Step[] {
  const now = after.phases.flatMap((p) => p.steps);
  const writes = new Set(now.flatMap((s) => (s.kind === 'write-file' ? [`${s.host}\0${s.path}`] : [])));
  const enabled = new Set(now.flatMap((s) => (s.kind === 'systemd' && s.action === 'enable-now' ? [`${s.host}\0${s.unit}`] : [])));
  const base = { retry: { attempts: 2, backoffMs: 2_000 }, timeoutMs: 2 * MIN };
  const out: Step[] = [];
  for (const ph of before.phases) {
    const gone = ph.steps.filter((s) => s.host !== null && !leaving.has(s.host));
    const hosts = [...new Set(gone.map((s) => s.host!))];
    for (const host of hosts) {
      const units = gone.flatMap((s) => (s.host === host && s.kind === 'systemd' && s.action === 'enable-now' && !enabled.has(`${host}\0${s.unit}`) ? [s.unit] : []));
      const files = gone.flatMap((s) => (s.host === host && s.kind === 'write-file' && !writes.has(`${host}\0${s.path}`) ? [s.path] : []));
      const mine: Step[] = [
        ...units.map((unit): Step => ({
          ...base,
          id: `${ph.name}/${host}/retire/service/${unit}`,
          phase: ph.name,
          host,
          kind: 'exec',
          description: `disable and stop ${unit} (the spec no longer asks for it)`,
          argv: ['systemctl', 'disable', '--now', unit],
          probe: { kind: 'command', argv: ['sh', '-c', '! systemctl is-enabled -q "$1" && ! systemctl is-active -q "$1"', 'unit-off', unit] },
        })),
        ...files.map((path): Step => ({
          ...base,
          id: `${ph.name}/${host}/retire/file${path}`,
          phase: ph.name,
          host,
          kind: 'exec',
          description: `remove ${path} (written by the last apply; the spec no longer asks for it)`,
          argv: ['rm', '-f', '--', path],
          probe: { kind: 'command', argv: ['sh', '-c', '[ ! -e "$1" ] && [ ! -L "$1" ]', 'file-gone', path] },
        })),
      ];
      const unitFiles = mine.filter((s) => s.id.includes('/retire/file/etc/systemd/')).map((s) => s.id);
      if (unitFiles.length > 0) {
        mine.push({
          ...base,
          id: `${ph.name}/${host}/retire/daemon-reload`,
          phase: ph.name,
          host,
          kind: 'systemd',
          unit: '',
          action: 'daemon-reload',
          description: 'systemd re-reads its units (unit files were removed)',
          onChangeOf: unitFiles,
        });
      }
      out.push(...mine);
    }
  }
  return out;
}

/**
 * A node's removal, as kubeadm documents it: drain (PodDisruptionBudgets respected, bounded), `kubeadm reset` on
 * the host (a control plane leaves etcd there), our files and services off, the etcd member gone for sure, the
 * Node deleted. A control plane's removal first checks the other etcd members are healthy.
 */
export function removalSteps(h: HostView): Step[] {
  const base = { phase: 'remove-nodes' as const, retry: { attempts: 1, backoffMs: 0 } };
  const nodeGone = { kind: 'command' as const, argv: ['sh', '-c', '! kubectl --kubeconfig "$1" get node "$2" >/dev/null 2>&1', 'node-gone', ADMIN_KUBECONFIG, h.name] };
  const steps: Step[] = [];
  if (h.isControlPlane) {
    steps.push({
      ...base,
      id: `remove-nodes/cluster/${h.name}/etcd-quorum`,
      host: null,
      kind: 'exec',
      readOnly: true,
      description: `check that every etcd member but ${h.name} is healthy (its removal keeps the quorum)`,
      argv: etcdOthersHealthy(h.name),
      timeoutMs: 2 * MIN,
    });
  }
  steps.push(
    {
      ...base,
      id: `remove-nodes/cluster/${h.name}/drain`,
      host: null,
      kind: 'exec',
      destructive: true,
      description: `drain ${h.name}: evict its pods (PodDisruptionBudgets respected; gives up after 5 minutes)`,
      argv: drainArgv(h.name),
      timeoutMs: 6 * MIN,
      probe: nodeGone,
    },
    {
      ...base,
      id: `remove-nodes/${h.name}/reset`,
      host: h.name,
      kind: 'exec',
      destructive: true,
      description: `kubeadm reset on ${h.name}${h.isControlPlane ? ' (leaves etcd)' : ''}; kubelet${h.isLoadBalancer ? ', keepalived, haproxy' : ''} stopped and disabled; CNI config and airgap-k8s's kubeadm files removed`,
      argv: ['sh', '-c', HOST_RESET_SCRIPT, 'host-reset', h.isLoadBalancer ? 'lb' : 'node'],
      timeoutMs: 10 * MIN,
      probe: { kind: 'command', argv: ['sh', '-c', HOST_RESET_PROBE, 'host-reset-probe'] },
    },
  );
  if (h.isControlPlane) {
    steps.push({
      ...base,
      id: `remove-nodes/cluster/${h.name}/etcd-member`,
      host: null,
      kind: 'exec',
      destructive: true,
      description: `remove ${h.name}'s etcd member if kubeadm reset left it`,
      argv: etcdRemoveMember(h.name),
      timeoutMs: 2 * MIN,
      probe: { kind: 'command', argv: etcdMemberAbsent(h.name) },
    });
  }
  steps.push({
    ...base,
    id: `remove-nodes/cluster/${h.name}/delete-node`,
    host: null,
    kind: 'exec',
    destructive: true,
    description: `delete the Node ${h.name}`,
    argv: kubectl('delete', 'node', h.name, '--ignore-not-found'),
    timeoutMs: 2 * MIN,
    probe: nodeGone,
  });
  return steps;
}

/** kubectl drain as day two runs it: evictions (PodDisruptionBudgets respected), bounded to 5 minutes, never --force. */
export function drainArgv(node: string): string[] {
  return kubectl('drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=300s');
}

/**
 * Returns a host to where it was before it joined, as far as kubeadm reset goes: $1 is `lb` for a load balancer
 * (keepalived and haproxy stopped too, so it can never hold the VIP again). Packages, images and the bundle stay.
 */
export const HOST_RESET_SCRIPT = [
  'set -u',
  'if command -v kubeadm >/dev/null; then kubeadm reset -f || exit 1; fi',
  'systemctl disable --now kubelet 2>/dev/null || true',
  // the scheduled etcd snapshots (src/generators/etcd-backup), where they were on: nothing left to snapshot
  `systemctl disable --now ${ETCD_SNAPSHOT_TIMER} 2>/dev/null || true`,
  'if [ "$1" = lb ]; then systemctl disable --now keepalived haproxy 2>/dev/null || true; fi',
  // the CNI config emptied, its directory kept: containerd watches /etc/cni/net.d, and once the directory is removed
  // under it the watch is gone for good, so a later join would never see the new config ("cni plugin not
  // initialized", seen on the test cluster when a reset worker joined again as a control plane); containerd is
  // restarted too, so it holds no network config of the cluster it left
  'if [ -d /etc/cni/net.d ]; then find /etc/cni/net.d -mindepth 1 -delete || exit 1; fi',
  'systemctl try-restart containerd 2>/dev/null || true',
  // etcd's data, and what an etcd restore left (src/day2/etcd.ts)
  `rm -rf ${KUBEADM_DIR} /var/lib/etcd /var/lib/etcd.before-restore /var/lib/airgap-k8s-restore /etc/kubernetes/airgap-k8s-stopped`,
  'echo "left in place: packages, container images, the offline bundle, iptables/IPVS rules and the CNI\'s network interfaces (kubeadm reset does not remove them)"',
].join('\n');

/** The reset is done when the node's kubeconfig is gone and the kubelet does not run. */
export const HOST_RESET_PROBE = `[ ! -e ${KUBELET_KUBECONFIG} ] && ! systemctl is-active -q kubelet`;
