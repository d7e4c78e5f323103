// buildPlan: spec + facts -> Plan. Pure. Host files come from the same render the CLI writes; each becomes a
// write-file step referenced by output path and sha256 (no content, so plans are safe to print and store).
import { createHash } from 'node:crypto';
import yaml from 'js-yaml';
import { deriveView, type ClusterView, type HostView } from '../spec/derive.js';
import type { ClusterSpec } from '../spec/schema.js';
import { renderView } from '../generators/index.js';
import { addonImages, helmReleases } from '../generators/manifests/index.js';
import { valuesPath } from '../generators/manifests/helm.js';
import { outputPath, type Facts, type GeneratedFile, type HostFile } from '../generators/types.js';
import { overlayOf } from '../generators/overlay.js';
import { kubeadmImages } from '../images.js';
import { groupPackages, hostPackageGroups, packageDir, packageManager, type PackageGroup } from './packages.js';
import { bundleContents, hostUploads, registryPushes } from '../bundle/contents.js';
import { IMAGES_DIR } from '../bundle/layout.js';
import { osReleaseCasePatterns } from '../os/profiles.js';
import { PHASES, type Phase, type PhaseName, type Plan, type Retry, type Step } from './types.js';

export const KUBECONFIG = '/etc/kubernetes/admin.conf';
export const KUBEADM_DIR = '/etc/kubernetes/airgap-k8s';
const MIN = 60_000;

const NO_RETRY: Retry = { attempts: 1, backoffMs: 0 };
const RETRY_3: Retry = { attempts: 3, backoffMs: 2_000 };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Which phase installs a host file, by its absolute path. */
export function phaseForHostPath(path: string, host: HostView): PhaseName {
  if (path.startsWith('/etc/containerd/') || path === '/etc/crictl.yaml') return 'container-runtime';
  if (path.startsWith('/etc/keepalived/') || path.startsWith('/etc/haproxy/')) return 'load-balancer';
  if (path.startsWith('/etc/kubernetes/')) {
    if (host.isFirstControlPlane) return 'first-control-plane';
    return host.isControlPlane ? 'control-planes' : 'workers';
  }
  return 'prepare-os';
}

/** Phase of a cluster/NN-*.yaml manifest (or a Helm release with that order) by its number. */
export function phaseForOrder(n: number): PhaseName {
  if (n < 20) return 'cni';
  if (n < 50) return 'addons';
  if (n < 60) return 'environments';
  if (n < 70) return 'models';
  if (n < 90) return 'apps';
  return 'verify';
}

const kubectl = (...args: string[]) => ['kubectl', '--kubeconfig', KUBECONFIG, ...args];

/**
 * kubeadm init/join at most once per host, even when an earlier run's invocation is still going: an apply killed
 * (or a dropped connection) leaves kubeadm running on the host, and a rerun must not start a second one beside it.
 * Under a host-wide lock, `done` existing means another invocation finished it.
 */
export const KUBEADM_LOCK = '/run/airgap-k8s-kubeadm.lock';
function kubeadmOnce(done: string, argv: string[]): string[] {
  return ['flock', KUBEADM_LOCK, 'sh', '-c', 'done=$1; shift; if [ -f "$done" ]; then echo "$done exists: already done"; exit 0; fi; exec "$@"', 'kubeadm-once', done, ...argv];
}

export function buildPlan(spec: ClusterSpec, facts: Facts): Plan {
  const view = deriveView(spec);
  return planFromFiles(view, renderView(view, facts), facts);
}

/** The plan for rendered files; `facts` only for what the plan shows beside them (the overlay they were made with). */
export function planFromFiles(view: ClusterView, files: readonly GeneratedFile[], facts: Pick<Facts, 'overlay'> = {}): Plan {
  const steps: Step[] = [];
  const s = view.cluster.spec;
  const bundle = s.offline.bundleDir;
  const hostFiles = files.filter((f): f is HostFile => f.kind === 'host');
  const writeStepsOf = new Map<string, string[]>(); // key `${host}:${phase}` -> write step ids

  const writeFile = (h: HostView, f: HostFile): string => {
    const phase = phaseForHostPath(f.path, h);
    const id = `${phase}/${h.name}/file${f.path}`;
    const digest = sha256(f.content);
    steps.push({
      id,
      phase,
      host: h.name,
      kind: 'write-file',
      description: `write ${f.path}${f.secret ? ' (secret, 0600)' : ''}`,
      source: outputPath(f),
      path: f.path,
      sha256: digest,
      mode: f.mode,
      secret: f.secret,
      timeoutMs: MIN,
      retry: RETRY_3,
      probe: { kind: 'file', path: f.path, sha256: digest, mode: f.mode },
    });
    const key = `${h.name}:${phase}`;
    writeStepsOf.set(key, [...(writeStepsOf.get(key) ?? []), id]);
    return id;
  };
  const filesOf = (h: HostView, phase: PhaseName, prefix = '') =>
    hostFiles.filter((f) => f.host === h.name && phaseForHostPath(f.path, h) === phase && f.path.startsWith(prefix));
  const install = (h: HostView, phase: PhaseName, group: PackageGroup) => {
    const manager = packageManager(h.os);
    const packages = groupPackages(group, h, view);
    steps.push({
      id: `${phase}/${h.name}/packages/${group}`,
      phase,
      host: h.name,
      kind: 'install-packages',
      description: `install ${group} packages from the bundle (${manager})`,
      manager,
      dir: packageDir(view, h, group),
      packages,
      timeoutMs: 10 * MIN,
      retry: NO_RETRY,
      probe: { kind: 'packages', manager, packages },
    });
  };
  const unit = (h: HostView, phase: PhaseName, name: string, changedBy: string[]) => {
    steps.push({
      id: `${phase}/${h.name}/service/${name}/enable`,
      phase,
      host: h.name,
      kind: 'systemd',
      unit: name,
      action: 'enable-now',
      description: `enable and start ${name}`,
      timeoutMs: 2 * MIN,
      retry: RETRY_3,
      probe: { kind: 'service-active', unit: name },
    });
    if (changedBy.length > 0) {
      steps.push({
        id: `${phase}/${h.name}/service/${name}/restart`,
        phase,
        host: h.name,
        kind: 'systemd',
        unit: name,
        action: 'restart',
        description: `restart ${name} when its configuration changed`,
        timeoutMs: 2 * MIN,
        retry: RETRY_3,
        onChangeOf: changedBy,
      });
    }
  };

  // ---- preflight: the offline bundle on this machine is complete and intact before any host is touched ----
  steps.push({
    id: 'preflight/local/bundle',
    phase: 'preflight',
    host: null,
    kind: 'verify-bundle',
    description: 'verify the offline bundle on this machine against the spec (nothing starts on an incomplete bundle)',
    timeoutMs: 60 * MIN,
    retry: NO_RETRY,
    readOnly: true,
  });
  const contents = bundleContents(view);
  const helm = contents.find((c): c is Extract<typeof c, { kind: 'binary' }> => c.kind === 'binary' && c.name === 'helm');

  for (const h of view.hosts) {
    // ---- preflight: facts the later phases rely on, checked before anything changes ----
    steps.push({
      id: `preflight/${h.name}/host`,
      phase: 'preflight',
      host: h.name,
      kind: 'exec',
      description: `check ${h.name}: reachable, expected OS family, systemd, root or sudo`,
      argv: ['sh', '-c', PREFLIGHT_SCRIPT, 'preflight', h.os],
      timeoutMs: MIN,
      retry: RETRY_3,
      readOnly: true,
    });
    // ---- distribute: the parts of the bundle this host needs, resumable and checked with sha256 on the host ----
    for (const localPath of hostUploads(view, h, contents)) {
      const remotePath = `${bundle}/${localPath}`;
      steps.push({
        id: `distribute/${h.name}/upload/${localPath}`,
        phase: 'distribute',
        host: h.name,
        kind: 'upload',
        description: `upload ${localPath} from the bundle to ${remotePath} (resumable, sha256 checked on the host)`,
        localPath,
        remotePath,
        timeoutMs: 240 * MIN,
        retry: RETRY_3,
        probe: { kind: 'bundle-files', localPath, remotePath },
      });
    }

    // ---- prepare-os ----
    const osWrites = filesOf(h, 'prepare-os').map((f) => writeFile(h, f));
    const script = hostFiles.find((f) => f.host === h.name && f.path === '/usr/local/lib/airgap-k8s/prepare-os.sh');
    if (script) {
      steps.push({
        id: `prepare-os/${h.name}/run`,
        phase: 'prepare-os',
        host: h.name,
        kind: 'exec',
        description: 'run prepare-os.sh (swap off, SELinux permissive, modules, sysctls, /etc/hosts, hostname)',
        argv: ['/bin/sh', script.path],
        timeoutMs: 5 * MIN,
        retry: NO_RETRY,
        onChangeOf: osWrites,
      });
    }
    const firewall = hostFiles.find((f) => f.host === h.name && f.path === '/usr/local/lib/airgap-k8s/firewall.sh');
    if (firewall) {
      steps.push({
        id: `prepare-os/${h.name}/firewall`,
        phase: 'prepare-os',
        host: h.name,
        kind: 'exec',
        description: 'open the ports this host\'s roles need in firewalld (VRRP only from the peer LB hosts)',
        argv: ['/bin/sh', firewall.path],
        timeoutMs: 5 * MIN,
        retry: NO_RETRY,
        onChangeOf: osWrites,
      });
    }

    // ---- container runtime (+ kubelet/kubeadm packages, NVIDIA toolkit on GPU hosts) ----
    for (const g of hostPackageGroups(h, view).filter((g) => g !== 'load-balancer')) install(h, 'container-runtime', g);
    const rtWrites = filesOf(h, 'container-runtime').map((f) => writeFile(h, f));
    unit(h, 'container-runtime', 'containerd', rtWrites);
    unit(h, 'container-runtime', 'kubelet', []);
    if (h.isFirstControlPlane && helm) {
      const installed = '/usr/local/bin/helm';
      steps.push({
        id: `container-runtime/${h.name}/helm`,
        phase: 'container-runtime',
        host: h.name,
        kind: 'exec',
        description: `install helm ${helm.version} from the bundle (cluster steps run Helm here)`,
        argv: ['install', '-m', '0755', `${bundle}/${helm.path}`, installed],
        timeoutMs: MIN,
        retry: RETRY_3,
        probe: { kind: 'command', argv: ['cmp', '-s', `${bundle}/${helm.path}`, installed] },
      });
    }
    if (view.registry && h.isFirstControlPlane) {
      // once, from the first control plane: its containerd runs by now; the other hosts pull from the registry
      const offline = s.offline;
      const images = registryPushes(view);
      steps.push({
        id: `container-runtime/${h.name}/push-images`,
        phase: 'container-runtime',
        host: h.name,
        kind: 'push-images',
        description: `push ${images.length} images from the bundle to ${view.registry}`,
        archives: `${bundle}/${IMAGES_DIR}`,
        images,
        registry: view.registry,
        insecure: offline.registryInsecure,
        ...(offline.registryCAFile ? { caFile: offline.registryCAFile } : {}),
        timeoutMs: 60 * MIN,
        retry: RETRY_3,
      });
    }
    if (!view.registry) {
      const images = [...new Set([...kubeadmImages(view.kubernetesVersion, ''), ...addonImages(view)])].sort();
      steps.push({
        id: `container-runtime/${h.name}/images`,
        phase: 'container-runtime',
        host: h.name,
        kind: 'import-images',
        description: `import ${images.length} images from the bundle into containerd (k8s.io namespace)`,
        archives: [`${bundle}/images`],
        images,
        // done when containerd lists every image under its name (a second apply does not import 1 GB again)
        probe: {
          kind: 'command',
          argv: ['sh', '-c', 'have=$(ctr -n k8s.io images ls -q) || exit 1; for i in "$@"; do printf "%s\\n" "$have" | grep -qxF -- "$i" || exit 1; done', 'probe', ...images],
        },
        timeoutMs: 30 * MIN,
        retry: NO_RETRY,
      });
    }

    // ---- load balancer ----
    if (h.isLoadBalancer && view.managedLoadBalancer) {
      install(h, 'load-balancer', 'load-balancer');
      const keepalived = filesOf(h, 'load-balancer', '/etc/keepalived/').map((f) => writeFile(h, f));
      const haproxy = filesOf(h, 'load-balancer', '/etc/haproxy/').map((f) => writeFile(h, f));
      unit(h, 'load-balancer', 'haproxy', haproxy);
      unit(h, 'load-balancer', 'keepalived', keepalived);
    }

    // ---- kubeadm ----
    if (h.isFirstControlPlane) {
      filesOf(h, 'first-control-plane').forEach((f) => writeFile(h, f));
      steps.push({
        id: `first-control-plane/${h.name}/kubeadm-init`,
        phase: 'first-control-plane',
        host: h.name,
        kind: 'exec',
        description: `kubeadm init (endpoint ${view.endpoint.host}:${view.endpoint.port}, certificates uploaded for the other control planes)`,
        argv: kubeadmOnce(KUBECONFIG, ['kubeadm', 'init', '--config', `${KUBEADM_DIR}/kubeadm-init.yaml`, '--upload-certs']),
        timeoutMs: 15 * MIN,
        retry: NO_RETRY,
        probe: { kind: 'command', argv: ['test', '-f', KUBECONFIG] },
      });
    } else if (h.isControlPlane || h.isWorker) {
      const phase: PhaseName = h.isControlPlane ? 'control-planes' : 'workers';
      filesOf(h, phase).forEach((f) => writeFile(h, f));
      steps.push({
        id: `${phase}/${h.name}/kubeadm-join`,
        phase,
        host: h.name,
        kind: 'exec',
        description: h.isControlPlane
          ? `kubeadm join as a control plane through ${view.endpoint.host}:${view.endpoint.port}`
          : `kubeadm join as a worker through ${view.endpoint.host}:${view.endpoint.port}`,
        argv: kubeadmOnce('/etc/kubernetes/kubelet.conf', ['kubeadm', 'join', '--config', `${KUBEADM_DIR}/kubeadm-join.yaml`]),
        timeoutMs: 15 * MIN,
        retry: NO_RETRY,
        probe: { kind: 'command', argv: ['test', '-f', '/etc/kubernetes/kubelet.conf'] },
      });
    }
  }

  // ---- cluster phases: manifests and Helm releases by apply order ----
  type Item = { n: number; rank: number; step: Step };
  const items: Item[] = [];
  for (const f of files) {
    const m = f.kind === 'cluster' ? /^cluster\/(\d\d)-([a-z0-9.-]+)\.yaml$/.exec(f.path) : null;
    if (!m) continue;
    const n = Number(m[1]);
    const phase = phaseForOrder(n);
    items.push({
      n,
      rank: 0,
      step: {
        id: `${phase}/cluster/apply/${m[1]}-${m[2]}`,
        phase,
        host: null,
        kind: 'kube-apply',
        description: `apply ${f.path}${f.secret ? ' (secret)' : ''}`,
        source: f.path,
        sha256: sha256(f.content),
        timeoutMs: 5 * MIN,
        retry: RETRY_3,
        probe: { kind: 'kube-diff', source: f.path },
      },
    });
    // verify: wait for every Job a verify manifest starts
    // wait for every Job a manifest starts (the GPU check) before anything later may take its GPUs
    {
      for (const doc of yaml.loadAll(f.content) as { kind?: string; metadata?: { name?: string; namespace?: string } }[]) {
        if (doc?.kind !== 'Job' || !doc.metadata?.name) continue;
        const ns = doc.metadata.namespace ?? 'default';
        items.push({
          n,
          rank: 2,
          step: {
            id: `${phase}/cluster/job/${ns}/${doc.metadata.name}`,
            phase,
            host: null,
            kind: 'wait-for',
            readOnly: true,
            description: `wait for Job ${ns}/${doc.metadata.name} to complete`,
            argv: kubectl('wait', '--for=condition=complete', `job/${doc.metadata.name}`, '-n', ns, '--timeout=60s'),
            intervalMs: 5_000,
            timeoutMs: 15 * MIN,
            retry: NO_RETRY,
          },
        });
      }
    }
  }
  const filesByPath = new Map(files.map((f) => [outputPath(f), f]));
  for (const r of helmReleases(view)) {
    const values = valuesPath(r.release);
    const vf = filesByPath.get(values);
    if (!vf) throw new Error(`helm release ${r.release}: ${values} was not rendered`);
    const digest = sha256(vf.content);
    const phase = phaseForOrder(r.order);
    items.push({
      n: r.order,
      rank: 1,
      step: {
        id: `${phase}/cluster/helm/${r.release}`,
        phase,
        host: null,
        kind: 'helm-install',
        description: `helm install ${r.release} (${r.chart} ${r.version}) into ${r.namespace}`,
        release: r.release,
        namespace: r.namespace,
        chart: `${bundle}/${r.bundlePath}`,
        version: r.version,
        values,
        sha256: digest,
        timeoutMs: 15 * MIN,
        retry: RETRY_3,
        probe: {
          kind: 'command',
          argv: ['sh', '-c', 'helm --kubeconfig "$1" status "$2" -n "$3" -o json | grep -q "airgap-k8s:$4"', 'probe', KUBECONFIG, r.release, r.namespace, digest],
        },
      },
    });
  }
  items.sort((a, b) => a.n - b.n || a.rank - b.rank || (a.step.id < b.step.id ? -1 : 1));
  steps.push(...items.map((i) => i.step));

  // ---- verify: the runbook's checks made automatic ----
  steps.push({
    id: 'verify/cluster/nodes-ready',
    phase: 'verify',
    host: null,
    kind: 'wait-for',
    readOnly: true,
    description: `wait for all ${view.hosts.filter((h) => h.isControlPlane || h.isWorker).length} nodes to be Ready`,
    argv: kubectl('wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s'),
    intervalMs: 5_000,
    timeoutMs: 15 * MIN,
    retry: NO_RETRY,
  });
  const namespaces = ['kube-system'];
  if (s.addons.gpuOperator.enabled && view.gpuHosts.length > 0) namespaces.push('gpu-operator');
  if (s.addons.dashboard.enabled) namespaces.push(s.addons.dashboard.kind === 'headlamp' ? 'headlamp' : 'kubernetes-dashboard');
  if (s.addons.monitoring.enabled) namespaces.push(s.addons.monitoring.namespace);
  for (const ns of namespaces) {
    steps.push({
      id: `verify/cluster/pods/${ns}`,
      phase: 'verify',
      host: null,
      kind: 'wait-for',
      readOnly: true,
      description: `wait for the pods in ${ns} to be Ready`,
      argv: kubectl('wait', '--for=condition=Ready', 'pod', '--all', '-n', ns, '--field-selector=status.phase!=Succeeded', '--timeout=60s'),
      intervalMs: 5_000,
      timeoutMs: 20 * MIN,
      retry: NO_RETRY,
    });
  }
  for (const m of s.models) {
    if (m.service.nodePort === undefined) continue;
    const path = m.engine === 'ollama' ? '/api/version' : '/health';
    steps.push({
      id: `verify/cluster/model/${m.name}`,
      phase: 'verify',
      host: null,
      kind: 'wait-for',
      readOnly: true,
      description: `model ${m.name} answers on ${view.firstControlPlane.address}:${m.service.nodePort}${path}`,
      argv: ['curl', '-sf', '--max-time', '5', '-o', '/dev/null', `http://${view.firstControlPlane.address}:${m.service.nodePort}${path}`],
      intervalMs: 10_000,
      timeoutMs: 30 * MIN,
      retry: NO_RETRY,
    });
  }

  // cluster steps run on the first control plane
  const phases: Phase[] = PHASES.map((name) => ({
    name,
    serial: name === 'control-planes',
    steps: steps.filter((st) => st.phase === name),
  })).filter((p) => p.steps.length > 0);
  const overlay = overlayOf(facts);
  return overlay ? { cluster: view.name, overlay, phases } : { cluster: view.name, phases };
}

/**
 * Preflight run on every host with its expected OS family as $1. Fixed text: nothing from the spec is spliced in.
 * Fails with a message per problem; warns (stderr) about cgroup v1.
 */
export const PREFLIGHT_SCRIPT = [
  'set -u',
  'fail=0',
  'want="$1"',
  '. /etc/os-release 2>/dev/null || { echo "no /etc/os-release" >&2; exit 1; }',
  `case "$want:$ID:\${VERSION_ID:-}" in ${osReleaseCasePatterns()}) ;; *) echo "expected $want, found $ID \${VERSION_ID:-}" >&2; fail=1;; esac`,
  'command -v systemctl >/dev/null || { echo "systemd is required" >&2; fail=1; }',
  '[ "$(id -u)" = 0 ] || { echo "must run as root (use sudo)" >&2; fail=1; }',
  '[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || echo "warning: cgroup v1 (Kubernetes 1.35 refuses it unless failCgroupV1 is false)" >&2',
  'exit $fail',
].join('\n');
