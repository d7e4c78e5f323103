// `airgap-k8s upgrade`: kubernetesVersion raised by a patch or one minor version, in kubeadm's documented order
// (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/): the new packages and images from
// the bundle on every host; on the first control plane kubeadm first, `kubeadm upgrade apply`, then drain, kubelet
// and kubectl, kubelet restarted, uncordon; the other control planes the same with `kubeadm upgrade node`; then the
// workers one at a time. Refused up front (all reasons at once): a downgrade, a skipped minor, another change in
// the same spec, and on the hosts (preflight): cgroup v1 going to 1.35+ without failCgroupV1: false. Pure.
import type { ClusterView, HostView } from '../spec/derive.js';
import type { Phase, Plan, Step } from '../plan/types.js';
import { packageDir, packageManager } from '../bundle/packages.js';
import { PACKAGE_MANAGERS } from '../os/profiles.js';
import { ADMIN_KUBECONFIG } from '../host-paths.js';
import { drainArgv, refusals, type Applied } from './change.js';

const MIN = 60_000;
const ONCE = { attempts: 1, backoffMs: 0 };
const kubectl = (...args: string[]) => ['kubectl', '--kubeconfig', ADMIN_KUBECONFIG, ...args];

export class UpgradeRefusedError extends Error {
  constructor(readonly problems: string[]) {
    super(`this upgrade cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'UpgradeRefusedError';
  }
}

const parse = (v: string) => {
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
};

/** Why the cluster applied as `before` cannot be upgraded to `after` (empty: it can). */
export function upgradeRefusals(before: ClusterView, after: ClusterView): string[] {
  const from = parse(before.kubernetesVersion);
  const to = parse(after.kubernetesVersion);
  const out: string[] = [];
  if (!from || !to) return [`spec.kubernetesVersion: ${after.kubernetesVersion} is not a version`];
  const at = `spec.kubernetesVersion: ${before.kubernetesVersion} -> ${after.kubernetesVersion}`;
  if (from.major !== to.major) out.push(`${at}: a major version change is not an upgrade kubeadm makes`);
  else if (to.minor < from.minor || (to.minor === from.minor && to.patch < from.patch)) out.push(`${at} is a downgrade; kubeadm does not downgrade (restore an etcd snapshot of the old version instead)`);
  else if (to.minor === from.minor && to.patch === from.patch) out.push(`${at}: the cluster already runs ${after.kubernetesVersion}`);
  else if (to.minor > from.minor + 1) out.push(`${at} skips v1.${from.minor + 1}: kubeadm upgrades one minor version at a time (v1.${from.minor}.x -> v1.${from.minor + 1}.x -> ...)`);
  // nothing else may change in the same step: an upgrade is only an upgrade
  out.push(...refusals(before, after).filter((p) => !p.startsWith('spec.kubernetesVersion:')));
  const names = (v: ClusterView) => v.hosts.map((h) => h.name).sort().join(',');
  if (names(before) !== names(after)) out.push('spec.hosts: hosts added or removed; apply that change before or after the upgrade, not with it');
  return out;
}

/**
 * The upgrade's plan. `after.plan` is the whole plan of the new spec: its preflight, its bundle uploads (the new
 * packages and images), its image imports and its verify checks are taken from it.
 */
export function upgradePlan(before: Applied, after: Applied): Plan {
  const problems = upgradeRefusals(before.view, after.view);
  if (problems.length > 0) throw new UpgradeRefusedError(problems);
  const view = after.view;
  const version = view.kubernetesVersion;
  const steps = after.plan.phases.flatMap((p) => p.steps);
  const take = (f: (s: Step) => boolean) => steps.filter(f);
  const minor = parse(version)!.minor;
  const phases: Phase[] = [
    {
      name: 'preflight',
      serial: false,
      steps: [
        ...take((s) => s.phase === 'preflight'),
        ...(minor >= 35
          ? view.hosts.filter((h) => h.isControlPlane || h.isWorker).map((h): Step => ({
              id: `preflight/${h.name}/cgroup-for-${version}`,
              phase: 'preflight',
              host: h.name,
              kind: 'exec',
              readOnly: true,
              description: `check ${h.name}: cgroup v2, or its kubelet configured with failCgroupV1: false (Kubernetes 1.35+ refuses cgroup v1)`,
              argv: ['sh', '-c', CGROUP_CHECK],
              timeoutMs: MIN,
              retry: ONCE,
            }))
          : []),
      ],
    },
    { name: 'distribute', serial: false, steps: take((s) => s.phase === 'distribute') },
    { name: 'container-runtime', serial: false, steps: take((s) => s.kind === 'import-images' || s.kind === 'push-images') },
    { name: 'upgrade-first-control-plane', serial: true, ordered: true, steps: nodeSteps(view, view.firstControlPlane, 'upgrade-first-control-plane') },
    { name: 'upgrade-control-planes', serial: true, ordered: true, steps: view.controlPlanes.filter((h) => !h.isFirstControlPlane).flatMap((h) => nodeSteps(view, h, 'upgrade-control-planes')) },
    { name: 'upgrade-workers', serial: true, ordered: true, steps: view.workers.filter((h) => !h.isControlPlane).flatMap((h) => nodeSteps(view, h, 'upgrade-workers')) },
    { name: 'verify', serial: false, steps: take((s) => s.phase === 'verify') },
  ];
  return { ...after.plan, phases: phases.filter((p) => p.steps.length > 0) };
}

/** One node's upgrade, as kubeadm documents it; every step skipped once the node's kubelet runs the new version. */
function nodeSteps(view: ClusterView, h: HostView, phase: 'upgrade-first-control-plane' | 'upgrade-control-planes' | 'upgrade-workers'): Step[] {
  const version = view.kubernetesVersion;
  const manager = packageManager(h.os);
  const dir = packageDir(view, h, 'kubernetes');
  const upgraded = { kind: 'command' as const, argv: ['sh', '-c', '[ "$(kubectl --kubeconfig "$1" get node "$2" -o jsonpath={.status.nodeInfo.kubeletVersion})" = "$3" ]', 'kubelet-version', ADMIN_KUBECONFIG, h.name, version] };
  const on = { phase, retry: ONCE, probe: upgraded };
  const first = phase === 'upgrade-first-control-plane';
  const steps: Step[] = [
    {
      ...on, id: `${phase}/${h.name}/kubeadm`, host: h.name, kind: 'exec', timeoutMs: 5 * MIN,
      description: `install kubeadm ${version} from the bundle on ${h.name} (kubeadm first, as kubeadm's upgrade documents)`,
      argv: ['sh', '-c', PACKAGE_MANAGERS[manager].installOne, 'install-one', dir, 'kubeadm'],
    },
  ];
  if (first) {
    steps.push(
      {
        ...on, id: `${phase}/${h.name}/upgrade-plan`, host: h.name, kind: 'exec', readOnly: true, timeoutMs: 5 * MIN,
        description: `kubeadm upgrade plan ${version}: the cluster can be upgraded (component health, versions)`,
        argv: ['kubeadm', 'upgrade', 'plan', version],
      },
      {
        ...on, id: `${phase}/${h.name}/upgrade-apply`, host: h.name, kind: 'exec', timeoutMs: 20 * MIN,
        description: `kubeadm upgrade apply ${version} on ${h.name}: the control plane's static pods, CoreDNS, kube-proxy, the cluster's configuration`,
        argv: ['kubeadm', 'upgrade', 'apply', version, '--yes'],
        probe: { kind: 'command', argv: ['sh', '-c', 'kubectl --kubeconfig "$1" -n kube-system get cm kubeadm-config -o jsonpath={.data.ClusterConfiguration} | grep -qx "kubernetesVersion: $2"', 'cluster-version', ADMIN_KUBECONFIG, version] },
      },
    );
  } else {
    steps.push({
      ...on, id: `${phase}/${h.name}/upgrade-node`, host: h.name, kind: 'exec', timeoutMs: 15 * MIN,
      description: `kubeadm upgrade node on ${h.name}${h.isControlPlane ? ' (its control-plane static pods too)' : ' (its kubelet configuration)'}`,
      argv: ['kubeadm', 'upgrade', 'node'],
    });
  }
  steps.push(
    {
      ...on, id: `${phase}/cluster/${h.name}/drain`, host: null, kind: 'exec', timeoutMs: 6 * MIN,
      description: `drain ${h.name} (PodDisruptionBudgets respected; gives up after 5 minutes)`,
      argv: drainArgv(h.name),
    },
    {
      ...on, id: `${phase}/${h.name}/kubelet`, host: h.name, kind: 'exec', timeoutMs: 10 * MIN,
      description: `install kubelet and kubectl ${version} from the bundle on ${h.name}, restart the kubelet`,
      argv: ['sh', '-c', `${PACKAGE_MANAGERS[manager].install}\nsystemctl daemon-reload && systemctl restart kubelet`, 'upgrade-kubelet', dir],
    },
    {
      ...on, id: `${phase}/cluster/${h.name}/ready`, host: null, kind: 'wait-for', readOnly: true, timeoutMs: 10 * MIN, intervalMs: 3_000,
      description: `wait for ${h.name} to report kubelet ${version} and be Ready`,
      argv: ['sh', '-c', '[ "$(kubectl --kubeconfig "$1" get node "$2" -o jsonpath={.status.nodeInfo.kubeletVersion})" = "$3" ] && kubectl --kubeconfig "$1" wait --for=condition=Ready node "$2" --timeout=10s', 'node-upgraded', ADMIN_KUBECONFIG, h.name, version],
      probe: undefined,
    },
    {
      ...on, id: `${phase}/cluster/${h.name}/uncordon`, host: null, kind: 'exec', timeoutMs: 2 * MIN,
      description: `uncordon ${h.name}`,
      argv: kubectl('uncordon', h.name),
      probe: { kind: 'command', argv: ['sh', '-c', '[ -z "$(kubectl --kubeconfig "$1" get node "$2" -o jsonpath={.spec.unschedulable})" ]', 'schedulable', ADMIN_KUBECONFIG, h.name] },
    },
  );
  for (const s of steps) if (s.probe === undefined) delete s.probe;
  return steps;
}

/** cgroup v2, or a kubelet configured to accept v1 (Kubernetes 1.35 refuses cgroup v1 by default). */
const CGROUP_CHECK = [
  '[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && exit 0',
  'grep -q "^failCgroupV1: false" /var/lib/kubelet/config.yaml 2>/dev/null && exit 0',
  'echo "cgroup v1 and the kubelet is not configured with failCgroupV1: false: Kubernetes 1.35 would refuse to start here" >&2',
  'exit 1',
].join('\n');
