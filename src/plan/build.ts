// The planner: the generators' units (src/generators/types.ts: files with their phase, services, scripts, order,
// Jobs and checks) -> Plan. Pure. Each file becomes a write-file step referenced by output path and sha256 (no
// content, so plans are safe to print and store). What is not made by a generator — the bundle's verification and
// uploads, packages, kubeadm init/join, image imports — is planned here from the view and the bundle's contents.
import { createHash } from 'node:crypto';
import { deriveView, type ClusterView, type HostView } from '../spec/derive.js';
import type { ClusterSpec } from '../spec/schema.js';
import { renderUnits } from '../generators/index.js';
import { addonImages } from '../generators/manifests/index.js';
import { outputPath, type ClusterUnit, type RenderInputs, type HostFile, type HostUnit, type Unit } from '../generators/types.js';
import { overlayOf } from '../generators/overlay.js';
import { kubeadmImages } from '../images.js';
import { ADMIN_KUBECONFIG, KUBEADM_INIT_CONFIG, KUBEADM_JOIN_CONFIG, KUBEADM_LOCK, KUBELET_KUBECONFIG } from '../host-paths.js';
import { groupPackages, hostPackageGroups, packageDir, packageManager, type PackageGroup } from '../bundle/packages.js';
import { bundleContents, hostUploads, registryPushes } from '../bundle/contents.js';
import { IMAGES_DIR } from '../bundle/layout.js';
import { osReleaseCasePatterns } from '../os/profiles.js';
import { PHASES, type HostPhase, type Phase, type PhaseName, type Plan, type Retry, type Step } from './types.js';
import { valuesPath as valuesPathOf } from '../generators/manifests/helm.js';

/** the admin kubeconfig cluster steps use on the first control plane */
export const KUBECONFIG = ADMIN_KUBECONFIG;
export { KUBEADM_LOCK };
const MIN = 60_000;

const NO_RETRY: Retry = { attempts: 1, backoffMs: 0 };
const RETRY_3: Retry = { attempts: 3, backoffMs: 2_000 };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const kubectl = (...args: string[]) => ['kubectl', '--kubeconfig', KUBECONFIG, ...args];

/**
 * kubeadm init/join at most once per host, even when an earlier run's invocation is still going: an apply killed
 * (or a dropped connection) leaves kubeadm running on the host, and a rerun must not start a second one beside it.
 * Under a host-wide lock, `done` existing means another invocation finished it.
 */
function kubeadmOnce(done: string, argv: string[]): string[] {
  return ['flock', KUBEADM_LOCK, 'sh', '-c', 'done=$1; shift; if [ -f "$done" ]; then echo "$done exists: already done"; exit 0; fi; exec "$@"', 'kubeadm-once', done, ...argv];
}

/**
 * Renders a validated spec and orders its units into the install plan: phases of steps per host, each with the probe
 * that shows it done. Pure: it runs nothing.
 */
export function buildPlan(spec: ClusterSpec, inputs: RenderInputs): Plan {
  return planFor(deriveView(spec), inputs);
}

/** Render the view's units and plan them. */
export function planFor(view: ClusterView, inputs: RenderInputs): Plan {
  return planFromUnits(view, renderUnits(view, inputs), inputs);
}

/**
 * Cluster units in apply order: by phase, then by their declared `after` (a unit comes after every unit it names),
 * otherwise in the order the generators returned them. Names must be unique and every `after` must name a unit of
 * the same or an earlier phase.
 */
export function orderClusterUnits(units: readonly ClusterUnit[]): ClusterUnit[] {
  const byName = new Map<string, ClusterUnit>();
  for (const u of units) {
    if (byName.has(u.name)) throw new Error(`two cluster units are named ${u.name}`);
    byName.set(u.name, u);
  }
  const phaseIndex = (u: ClusterUnit) => PHASES.indexOf(u.phase);
  for (const u of units) {
    for (const a of u.after) {
      const dep = byName.get(a);
      if (!dep) throw new Error(`cluster unit ${u.name} comes after ${a}, which is not a unit of this cluster`);
      if (phaseIndex(dep) > phaseIndex(u)) throw new Error(`cluster unit ${u.name} (${u.phase}) comes after ${a}, which is in the later phase ${dep.phase}`);
    }
  }
  const out: ClusterUnit[] = [];
  const placed = new Set<string>();
  for (const phase of PHASES) {
    const pending = units.filter((u) => u.phase === phase);
    while (pending.length > 0) {
      // the first unit (in generator order) whose dependencies are all placed
      const i = pending.findIndex((u) => u.after.every((a) => placed.has(a)));
      if (i < 0) throw new Error(`cluster units depend on each other in a cycle: ${pending.map((u) => `${u.name} after ${u.after.join(', ')}`).join('; ')}`);
      const [u] = pending.splice(i, 1);
      out.push(u!);
      placed.add(u!.name);
    }
  }
  return out;
}

/** The plan for rendered units; `inputs` only for what the plan shows beside them (the overlay they were made with). */
export function planFromUnits(view: ClusterView, units: readonly Unit[], inputs: Pick<RenderInputs, 'overlay'> = {}): Plan {
  const steps: Step[] = [];
  const s = view.cluster.spec;
  const bundle = s.offline.bundleDir;
  const hostUnits = units.filter((u): u is HostUnit => u.kind === 'host');
  // a host's units of one phase, in unit order, looked up by host and phase (not a scan of every unit)
  const unitsOf = new Map<string, Map<HostPhase, HostUnit[]>>();
  for (const u of hostUnits) {
    let ofHost = unitsOf.get(u.host);
    if (!ofHost) unitsOf.set(u.host, (ofHost = new Map()));
    const list = ofHost.get(u.phase);
    if (list) list.push(u);
    else ofHost.set(u.phase, [u]);
  }
  const placedUnits = new Set<HostUnit>();
  // many hosts get the same content (/etc/hosts.d, sysctls, containerd's config): each distinct text is hashed once
  const digests = new Map<string, string>();
  const digestOf = (content: string): string => {
    let d = digests.get(content);
    if (d === undefined) {
      d = sha256(content);
      digests.set(content, d);
    }
    return d;
  };
  const clusterUnits = orderClusterUnits(units.filter((u): u is ClusterUnit => u.kind === 'cluster' && u.action.kind !== 'none'));

  const writeFile = (h: HostView, phase: HostPhase, f: HostFile): string => {
    const id = `${phase}/${h.name}/file${f.path}`;
    const digest = digestOf(f.content);
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
    return id;
  };
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
  const service = (h: HostView, phase: PhaseName, name: string, changedBy: string[]) => {
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
  /**
   * A host's units of one phase: every file written first, then each unit's services and script, in unit order.
   * Returns the ids of the phase's write steps.
   */
  const placeUnits = (h: HostView, phase: HostPhase): string[] => {
    const mine = unitsOf.get(h.name)?.get(phase) ?? [];
    const writes = new Map<HostUnit, string[]>();
    const phaseWrites: string[] = [];
    for (const u of mine) {
      const ids = u.files.map((f) => writeFile(h, phase, f));
      writes.set(u, ids);
      phaseWrites.push(...ids);
      placedUnits.add(u);
    }
    for (const u of mine) {
      if (u.reloadsSystemd) {
        // before the unit's services: `enable --now` of a changed unit file would otherwise use what systemd read before
        steps.push({
          id: `${phase}/${h.name}/${u.name}/daemon-reload`,
          phase,
          host: h.name,
          kind: 'systemd',
          unit: '',
          action: 'daemon-reload',
          description: `systemctl daemon-reload: systemd reads ${u.name}'s changed unit files`,
          timeoutMs: 2 * MIN,
          retry: RETRY_3,
          onChangeOf: writes.get(u)!,
        });
      }
      for (const unit of u.services ?? []) service(h, phase, unit, writes.get(u)!);
      if (u.run) {
        steps.push({
          id: `${phase}/${h.name}/${u.run.id}`,
          phase,
          host: h.name,
          kind: 'exec',
          description: u.run.description,
          argv: u.run.argv,
          timeoutMs: 5 * MIN,
          retry: NO_RETRY,
          onChangeOf: phaseWrites,
        });
      }
    }
    return phaseWrites;
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
  // the same for every host: what each imports into containerd when there is no registry
  const importedImages = view.registry ? [] : [...new Set([...kubeadmImages(view.kubernetesVersion, ''), ...addonImages(view)])].sort();
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
    placeUnits(h, 'prepare-os');

    // ---- container runtime (+ kubelet/kubeadm packages, NVIDIA toolkit on GPU hosts) ----
    for (const g of hostPackageGroups(h, view).filter((g) => g !== 'load-balancer')) install(h, 'container-runtime', g);
    // containerd and kubelet come with the packages: enabled wherever they are installed, containerd restarted when
    // the phase's files (its configuration) changed
    const runtimeWrites = placeUnits(h, 'container-runtime');
    service(h, 'container-runtime', 'containerd', runtimeWrites);
    service(h, 'container-runtime', 'kubelet', []);
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
      const images = [...importedImages];
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
      placeUnits(h, 'load-balancer');
    }

    // ---- kubeadm ----
    if (h.isFirstControlPlane) {
      placeUnits(h, 'first-control-plane');
      steps.push({
        id: `first-control-plane/${h.name}/kubeadm-init`,
        phase: 'first-control-plane',
        host: h.name,
        kind: 'exec',
        description: `kubeadm init (endpoint ${view.endpoint.host}:${view.endpoint.port}, certificates uploaded for the other control planes)`,
        argv: kubeadmOnce(ADMIN_KUBECONFIG, ['kubeadm', 'init', '--config', KUBEADM_INIT_CONFIG, '--upload-certs']),
        timeoutMs: 15 * MIN,
        retry: NO_RETRY,
        probe: { kind: 'command', argv: ['test', '-f', ADMIN_KUBECONFIG] },
      });
      // A join days after init (a host added on day two) needs the bootstrap token (24 h) and, for a control plane,
      // the uploaded certificates (2 h) again: both made anew from the init config, which holds them, whenever a
      // host of the spec is not a node yet. The secrets never appear in the argv.
      const nodes = view.hosts.filter((x) => x.isControlPlane || x.isWorker).map((x) => x.name);
      const allJoined = { kind: 'command' as const, argv: kubectl('get', 'node', ...nodes) };
      steps.push({
        id: `first-control-plane/${h.name}/bootstrap-token`,
        phase: 'first-control-plane',
        host: h.name,
        kind: 'exec',
        description: 'make sure the join token of the init config exists (it expires 24 h after it was made)',
        argv: ['kubeadm', 'init', 'phase', 'bootstrap-token', '--config', KUBEADM_INIT_CONFIG, '--kubeconfig', ADMIN_KUBECONFIG, '--skip-token-print'],
        timeoutMs: 2 * MIN,
        retry: RETRY_3,
        probe: allJoined,
      });
      if (view.controlPlanes.length > 1) {
        steps.push({
          id: `first-control-plane/${h.name}/upload-certs`,
          phase: 'first-control-plane',
          host: h.name,
          kind: 'exec',
          description: 'upload the control-plane certificates for the joining control planes (kept 2 h, encrypted with the certificate key)',
          argv: ['kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs', '--config', KUBEADM_INIT_CONFIG, '--kubeconfig', ADMIN_KUBECONFIG, '--skip-certificate-key-print'],
          timeoutMs: 2 * MIN,
          retry: RETRY_3,
          probe: allJoined,
        });
      }
    } else if (h.isControlPlane || h.isWorker) {
      const phase = h.isControlPlane ? 'control-planes' : 'workers';
      placeUnits(h, phase);
      steps.push({
        id: `${phase}/${h.name}/kubeadm-join`,
        phase,
        host: h.name,
        kind: 'exec',
        description: h.isControlPlane
          ? `kubeadm join as a control plane through ${view.endpoint.host}:${view.endpoint.port}`
          : `kubeadm join as a worker through ${view.endpoint.host}:${view.endpoint.port}`,
        argv: kubeadmOnce(KUBELET_KUBECONFIG, ['kubeadm', 'join', '--config', KUBEADM_JOIN_CONFIG]),
        timeoutMs: 15 * MIN,
        retry: NO_RETRY,
        probe: { kind: 'command', argv: ['test', '-f', KUBELET_KUBECONFIG] },
      });
    }
  }
  for (const u of hostUnits) {
    const f = u.files[0];
    if (f && !placedUnits.has(u)) throw new Error(`unit ${u.name} on ${u.host}: ${f.path} (${u.phase}) has no place in the plan for that host`);
  }

  // ---- cluster phases: the cluster units in their declared order ----
  for (const u of clusterUnits) steps.push(...clusterSteps(u, bundle));

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
  const checks = [{ kind: 'pods-ready' as const, namespace: 'kube-system' }, ...clusterUnits.flatMap((u) => u.verify ?? [])];
  for (const c of checks) {
    if (c.kind === 'pods-ready') {
      steps.push({
        id: `verify/cluster/pods/${c.namespace}`,
        phase: 'verify',
        host: null,
        kind: 'wait-for',
        readOnly: true,
        description: `wait for the pods in ${c.namespace} to be Ready`,
        argv: kubectl('wait', '--for=condition=Ready', 'pod', '--all', '-n', c.namespace, '--field-selector=status.phase!=Succeeded', '--timeout=60s'),
        intervalMs: 5_000,
        timeoutMs: 20 * MIN,
        retry: NO_RETRY,
      });
    } else {
      steps.push({
        id: `verify/cluster/${c.name}`,
        phase: 'verify',
        host: null,
        kind: 'wait-for',
        readOnly: true,
        description: c.description,
        argv: ['curl', '-sf', '--max-time', '5', '-o', '/dev/null', c.url],
        intervalMs: 10_000,
        timeoutMs: 30 * MIN,
        retry: NO_RETRY,
      });
    }
  }

  // cluster steps run on the first control plane
  // the steps of each phase in the order they were made: one pass over the steps, not one per phase
  const byPhase = new Map<PhaseName, Step[]>(PHASES.map((name) => [name, []]));
  for (const st of steps) byPhase.get(st.phase)!.push(st);
  const phases: Phase[] = PHASES.map((name) => ({
    name,
    serial: name === 'control-planes',
    steps: byPhase.get(name)!,
  })).filter((p) => p.steps.length > 0);
  const overlay = overlayOf(inputs);
  return overlay ? { cluster: view.name, overlay, phases } : { cluster: view.name, phases };
}

/** A cluster unit's steps: its apply or Helm install, then a wait for each Job it starts. */
function clusterSteps(u: ClusterUnit, bundle: string): Step[] {
  const phase = u.phase;
  const out: Step[] = [];
  const { action } = u;
  if (action.kind === 'apply') {
    const f = u.files.find((x) => x.path === action.path);
    if (!f && !u.needs?.length) throw new Error(`cluster unit ${u.name}: ${action.path} was not rendered`);
    out.push({
      id: `${phase}/cluster/apply/${action.path.replace(/^cluster\//, '').replace(/\.yaml$/, '')}`,
      phase,
      host: null,
      kind: 'kube-apply',
      description: `apply ${action.path}${f?.secret ? ' (secret)' : ''}`,
      source: action.path,
      ...(f ? { sha256: sha256(f.content) } : {}),
      ...(u.needs?.length ? { needs: u.needs } : {}),
      timeoutMs: 5 * MIN,
      retry: RETRY_3,
      probe: { kind: 'kube-diff', source: action.path },
    });
  } else if (action.kind === 'helm') {
    const r = action.release;
    const values = u.files.find((x) => x.path === valuesPathOf(r.release));
    if (!values) throw new Error(`helm release ${r.release}: ${valuesPathOf(r.release)} was not rendered`);
    const digest = sha256(values.content);
    out.push({
      id: `${phase}/cluster/helm/${r.release}`,
      phase,
      host: null,
      kind: 'helm-install',
      description: `helm install ${r.release} (${r.chart} ${r.version}) into ${r.namespace}`,
      release: r.release,
      namespace: r.namespace,
      chart: `${bundle}/${r.bundlePath}`,
      version: r.version,
      values: values.path,
      sha256: digest,
      timeoutMs: 15 * MIN,
      retry: RETRY_3,
      probe: {
        kind: 'command',
        argv: ['sh', '-c', 'helm --kubeconfig "$1" status "$2" -n "$3" -o json | grep -q "airgap-k8s:$4"', 'probe', KUBECONFIG, r.release, r.namespace, digest],
      },
    });
  }
  for (const j of u.waitFor ?? []) {
    out.push({
      id: `${phase}/cluster/job/${j.namespace}/${j.name}`,
      phase,
      host: null,
      kind: 'wait-for',
      readOnly: true,
      description: `wait for Job ${j.namespace}/${j.name} to complete`,
      argv: kubectl('wait', '--for=condition=complete', `job/${j.name}`, '-n', j.namespace, '--timeout=60s'),
      intervalMs: 5_000,
      timeoutMs: 15 * MIN,
      retry: NO_RETRY,
    });
  }
  return out;
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
