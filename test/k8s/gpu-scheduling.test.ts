// Check 3 of issue 6: GPU scheduling, for real. For every fixture with GPU hosts, on a fresh v1.34.3 control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler; test/k8s/controlplane.ts):
// - Node objects for the fixture's Kubernetes hosts (test/k8s/fake-nodes.ts): GPU hosts with nvidia.com/gpu in
//   capacity and allocatable, the nvidia.com/gpu.present=true label and the taint our kubeadm config registers them
//   with; control planes with the control-plane taint kubeadm sets; all Ready. No kubelet runs: the node-lifecycle
//   controller is off (startControlPlane's default) and we lift the not-ready taint admission puts on new Nodes, as
//   that controller would for a Ready one. Nothing ever starts a container: pods only get BOUND.
// - Our rendered environments (50-*), network policies (51-*), models (60-*) and GPU check Jobs (90-*) are created
//   for real; the scheduler must bind every GPU pod to a GPU host, and nothing without GPUs may land there.
//
// What stands in for a real cluster, said plainly:
// - Storage: a model's data claim uses the default StorageClass (local-path, WaitForFirstConsumer). No provisioner
//   runs here, so the scheduler would wait on it forever. We create the StorageClass from 15-*.yaml and, for every
//   claim without a volumeName, a PersistentVolume pre-bound to it (claimRef) — what local-path-provisioner would
//   create. The host-directory claims are pre-bound by our own manifests already.
// - GPU check Jobs never finish (no kubelet). Once a check pod is bound we delete its Job and pod, as if it had run
//   to completion, so that on a 1-GPU cluster the next check can take the GPU. The checks run BEFORE the models here:
//   applied in file order (60 before 90) on a cluster whose GPUs the models use up, the checks would stay Pending.
// - Pods without GPUs: a Deployment of our own (pause image, 10m CPU), since 50/51/60/90 hold no CPU-only workload.
//   Most GPU fixtures have no untainted CPU node (tainted control planes, GPU-only workers): there those pods must
//   stay Pending (Unschedulable), never take a GPU host.
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCluster, type GeneratedFile } from '../../src/generators/index.js';
import { GPU_NODE_LABEL, GPU_RESOURCE, GPU_TOLERATION } from '../../src/generators/manifests/models/common.js';
import { deriveView, type HostView } from '../../src/spec/derive.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { registerNodes } from './fake-nodes.js';
import { toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';

/** Bound on every wait for the scheduler or a controller. */
const WAIT_MS = 60_000;
const PAUSE_IMAGE = 'registry.local:5000/k8s/pause:3.10.1';
const QUOTA_GPU = `requests.${GPU_RESOURCE}`;
/** Fixtures whose models ask for more GPUs than their hosts have (see the it.fails below). */
// rhel9-ha is runbook-ha on RHEL 9 hosts: the same models on the same one-GPU host
const KNOWN_GPU_OVERCOMMIT = new Set(['runbook-ha', 'rhel9-ha']);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any };
type Pod = {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: { resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[] };
  status: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

const docsOf = (files: GeneratedFile[], re: RegExp): Obj[] =>
  files
    .filter((f) => f.kind === 'cluster' && re.test(f.path))
    .flatMap((f) => yaml.loadAll(f.content) as Obj[])
    .filter((d) => !!d);
const stream = (docs: unknown[]) => docs.map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');
const gpusOf = (p: Pod) =>
  p.spec.containers.reduce((n, c) => n + Number(c.resources?.limits?.[GPU_RESOURCE] ?? c.resources?.requests?.[GPU_RESOURCE] ?? 0), 0);
const label = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;

const fixtures = validFixtureNames()
  .map((fixture) => {
    const spec = loadFixture(fixture);
    return { fixture, view: deriveView(spec), files: renderCluster(spec, testInputs()) };
  })
  .filter((f) => f.view.gpuHosts.length > 0);

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms ${last}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

describe.each(fixtures)('GPU scheduling on kube-scheduler v1.34.3: fixture $fixture', ({ fixture, view, files }) => {
  let cp: ControlPlane;
  let nodes: HostView[] = [];
  const gpuHostNames = new Set(view.gpuHosts.map((h) => h.name));
  const started = Date.now();
  const log = (msg: string) => console.log(`[${fixture} +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

  const kubectl = async (args: string[], input?: string) => {
    const r = await cp.kubectl(args, { input, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${r.command} exited ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  const json = async <T>(args: string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
  const pods = async (args: string[] = ['-A']) => (await json<{ items: Pod[] }>(['get', 'pods', ...args])).items;
  const applyReal = (docs: unknown[]) => kubectl(['apply', '--server-side', '--field-manager=airgap-k8s', '-f', '-'], stream(docs));

  const environments = docsOf(files, /^cluster\/50-.*\.yaml$/);
  const policies = docsOf(files, /^cluster\/51-.*\.yaml$/);
  const models = docsOf(files, /^cluster\/60-.*\.yaml$/);
  const checks = docsOf(files, /^cluster\/\d\d-gpu-check\.yaml$/);
  const storageClasses = docsOf(files, /^cluster\/15-.*\.yaml$/).filter((d) => d.kind === 'StorageClass');
  const quotas = environments.filter((d) => d.kind === 'ResourceQuota');
  const gpuCapacity = view.gpuHosts.reduce((n, h) => n + h.spec.gpu!.count, 0);
  const modelGpuDemand = (view.cluster.spec.models ?? []).reduce((n, m) => n + m.gpus * ((m as { replicas?: number }).replicas ?? 1), 0);

  beforeAll(async () => {
    cp = await startControlPlane({ bin: await toolchainBin() });
    log(`control plane up`);
    nodes = await registerNodes(cp, view);
    log(`${nodes.length} Nodes registered (${[...gpuHostNames].join(', ')} with GPUs)`);
  }, TOOLCHAIN_TIMEOUT_MS);

  afterAll(async () => {
    await cp?.stop();
  });

  it('the Nodes are Ready and the GPU hosts offer their GPUs (capacity and allocatable), labelled and tainted', async () => {
    const items = (await json<{ items: any[] }>(['get', 'nodes'])).items;
    expect(items.map((n) => n.metadata.name).sort()).toEqual(nodes.map((h) => h.name).sort());
    for (const n of items) {
      const h = nodes.find((x) => x.name === n.metadata.name)!;
      expect(n.status.conditions.find((c: any) => c.type === 'Ready')?.status, h.name).toBe('True');
      const gpus = h.isGpu ? String(h.spec.gpu!.count) : undefined;
      expect(n.status.capacity[GPU_RESOURCE], h.name).toBe(gpus);
      expect(n.status.allocatable[GPU_RESOURCE], h.name).toBe(gpus);
      expect(n.metadata.labels[GPU_NODE_LABEL], h.name).toBe(h.isGpu ? 'true' : undefined);
      const taints = (n.spec.taints ?? []).map((t: any) => `${t.key}:${t.effect}`);
      if (h.isGpu) expect(taints, h.name).toContain(`${GPU_TOLERATION.key}:NoSchedule`);
      else expect(taints, h.name).not.toContain(`${GPU_TOLERATION.key}:NoSchedule`);
      // Nothing but the taints we registered (no not-ready/unreachable: no node-lifecycle controller).
      expect(taints.filter((t: string) => t.startsWith('node.kubernetes.io/')), h.name).toEqual([]);
    }
  });

  it('the environments (50-*) and network policies (51-*) are created; every ResourceQuota and NetworkPolicy exists in its namespace', async () => {
    await applyReal(environments.filter((d) => d.kind === 'Namespace'));
    await applyReal(environments.filter((d) => d.kind !== 'Namespace'));
    await applyReal(policies);
    const namespaces = environments.filter((d) => d.kind === 'Namespace').map((d) => d.metadata.name);
    for (const ns of namespaces) await kubectl(['wait', '--for=create', '--timeout=60s', '-n', ns, 'serviceaccount/default']);
    const live = async (kind: string) =>
      (await json<{ items: Obj[] }>(['get', kind, '-A'])).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
    const want = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind).map((d) => `${d.metadata.namespace}/${d.metadata.name}`).sort();
    expect(quotas.length).toBeGreaterThan(0);
    expect(await live('resourcequotas')).toEqual(want(environments, 'ResourceQuota'));
    expect(policies.length).toBeGreaterThan(0);
    expect(await live('networkpolicies')).toEqual(want(policies, 'NetworkPolicy'));
    log(`${namespaces.length} environments, ${quotas.length} quotas, ${policies.length} NetworkPolicies created`);
  });

  it('the GPU check Jobs (NN-gpu-check.yaml): the scheduler binds each check pod to a GPU host', async () => {
    const jobs = checks.filter((d) => d.kind === 'Job');
    expect(jobs.length).toBeGreaterThan(0);
    const t0 = Date.now();
    await applyReal(checks);
    const boundTo = new Map<string, string>();
    await poll(`every GPU check Job's pod bound (${jobs.map((j) => j.metadata.name).join(', ')})`, async () => {
      for (const j of jobs) {
        if (boundTo.has(j.metadata.name)) continue;
        const ns = j.metadata.namespace ?? 'default';
        const bound = (await pods(['-n', ns, '-l', `job-name=${j.metadata.name}`])).find((p) => p.spec.nodeName);
        if (!bound) continue;
        expect(gpusOf(bound), label(bound)).toBeGreaterThan(0);
        boundTo.set(j.metadata.name, bound.spec.nodeName!);
        // "It ran": free the GPU for the next check (see the header).
        await kubectl(['delete', 'job', j.metadata.name, '-n', ns, '--cascade=orphan', '--wait=false']);
        await kubectl(['delete', 'pod', '-n', ns, '-l', `job-name=${j.metadata.name}`, '--force', '--grace-period=0']);
      }
      return boundTo.size === jobs.length ? true : undefined;
    });
    log(`GPU checks bound in ${Date.now() - t0} ms: ${[...boundTo].map(([j, n]) => `${j} -> ${n}`).join(', ')}`);
    for (const [job, node] of boundTo) expect(gpuHostNames.has(node), `${job} bound to ${node}`).toBe(true);
  });

  it('the models (60-*): every model pod is bound to a GPU host', async () => {
    // The default StorageClass, and what local-path-provisioner would create for the unbound claims (see header).
    await applyReal(storageClasses);
    const defaultClass = storageClasses.find((s) => s.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')?.metadata.name;
    const dynamic = models.filter((d) => d.kind === 'PersistentVolumeClaim' && !d.spec.volumeName && d.spec.storageClassName !== '');
    const pvs = dynamic.map((c) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `test-provisioned-${c.metadata.namespace}-${c.metadata.name}`, labels: { 'airgap-k8s.io/test-stand-in': 'true' } },
      spec: {
        capacity: { storage: c.spec.resources.requests.storage },
        accessModes: c.spec.accessModes,
        storageClassName: c.spec.storageClassName ?? defaultClass,
        claimRef: { namespace: c.metadata.namespace, name: c.metadata.name },
        hostPath: { path: `/tmp/airgap-k8s-test/${c.metadata.namespace}/${c.metadata.name}`, type: 'DirectoryOrCreate' },
        persistentVolumeReclaimPolicy: 'Delete',
      },
    }));
    if (pvs.length) expect(defaultClass, 'a default StorageClass for the claims without one').toBeDefined();
    if (pvs.length) await applyReal(pvs);
    const t0 = Date.now();
    await applyReal(models.filter((d) => d.kind === 'PersistentVolume'));
    // claims bound before their pods exist: a pod the scheduler finds with an unbound claim waits for a requeue that
    // can come minutes later (seen once in CI: Unschedulable 60 s after both its claims were Bound)
    const workloads = models.filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet');
    await applyReal(models.filter((d) => d.kind !== 'PersistentVolume' && !workloads.includes(d)));
    if (models.some((d) => d.kind === 'PersistentVolumeClaim')) {
      await kubectl(['wait', '--for=jsonpath={.status.phase}=Bound', 'pvc', '--all', '-A', '--timeout=60s']);
    }
    await applyReal(workloads);
    const expected = workloads.reduce((n, d) => n + (d.spec.replicas ?? 1), 0);
    expect(expected).toBeGreaterThan(0);
    const settled = (p: Pod) =>
      !!p.spec.nodeName ||
      !!p.status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable' && /Insufficient nvidia\.com\/gpu/.test(c.message ?? ''));
    const modelPods = await poll(`${expected} model pod(s) bound or Unschedulable for lack of GPUs`, async () => {
      const ps = (await pods()).filter((p) => p.metadata.labels?.['airgap-k8s.io/model']);
      return ps.length === expected && ps.every(settled) && ps.some((p) => p.spec.nodeName) ? ps : undefined;
    }).catch(async (e) => {
      const ps = (await pods()).filter((p) => p.metadata.labels?.['airgap-k8s.io/model']);
      const why = ps.map((p) => `${label(p)}: ${JSON.stringify(p.status.conditions)}`).join('\n');
      throw new Error(`${(e as Error).message}\n${why}\n${await kubectl(['get', 'pvc,pv', '-A'])}`);
    });
    const claims = (await json<{ items: any[] }>(['get', 'pvc', '-A'])).items;
    expect(claims.filter((c) => c.status.phase !== 'Bound').map((c) => c.metadata.name)).toEqual([]);
    const bound = modelPods.filter((p) => p.spec.nodeName);
    const pending = modelPods.filter((p) => !p.spec.nodeName);
    log(
      `${bound.length}/${modelPods.length} model pod(s) bound in ${Date.now() - t0} ms: ${bound.map((p) => `${label(p)} (${gpusOf(p)} GPU) -> ${p.spec.nodeName}`).join(', ')}` +
        (pending.length ? `; PENDING for lack of GPUs: ${pending.map((p) => `${label(p)} (${gpusOf(p)} GPU)`).join(', ')}` : ''),
    );
    for (const p of modelPods) expect(gpusOf(p), label(p)).toBeGreaterThan(0);
    for (const p of bound) expect(gpuHostNames.has(p.spec.nodeName!), `${label(p)} bound to ${p.spec.nodeName}`).toBe(true);
    // Every model pod bound, unless the fixture asks for more GPUs than its hosts have (checked on its own below).
    if (modelGpuDemand <= gpuCapacity) expect(pending.map(label)).toEqual([]);
    else expect(pending.length, 'the pods left Pending are the ones the GPUs cannot hold').toBeGreaterThan(0);
  });

  // A finding, kept visible: runbook-ha runs two 1-GPU models on its one 1-GPU host, so one model can never be
  // scheduled; the spec validator does not compare the models' GPUs with the hosts'. it.fails flips to a failure
  // once the fixture (or the validator) is fixed, so this line has to be revisited then.
  (KNOWN_GPU_OVERCOMMIT.has(fixture) ? it.fails : it)(
    "the models' GPUs fit the GPU hosts (sum of model GPUs <= sum of host GPUs)",
    () => {
      expect(modelGpuDemand, `${fixture}: models ask ${modelGpuDemand} GPUs, hosts have ${gpuCapacity}`).toBeLessThanOrEqual(gpuCapacity);
    },
  );

  it('pods without GPUs never land on a GPU host (the GPU taint repels them)', async () => {
    const replicas = nodes.length * 3;
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cpu-spread', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'cpu-spread' } },
        template: {
          metadata: { labels: { app: 'cpu-spread' } },
          spec: { containers: [{ name: 'c', image: PAUSE_IMAGE, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
        },
      },
    };
    // Untainted nodes are where such pods can go; a cluster may have none (containerd2: one tainted control plane and
    // one GPU worker), and then they must stay Pending rather than take a GPU host.
    const untainted = (await json<{ items: any[] }>(['get', 'nodes'])).items.filter((n) => !(n.spec.taints ?? []).length).map((n) => n.metadata.name);
    const t0 = Date.now();
    await applyReal([deployment]);
    if (untainted.length === 0) {
      const pending = await poll(`${replicas} cpu-spread pods Unschedulable`, async () => {
        const ps = await pods(['-n', 'default', '-l', 'app=cpu-spread']);
        const unschedulable = ps.filter((p) => p.status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable'));
        return ps.length === replicas && unschedulable.length === replicas ? ps : undefined;
      });
      expect(pending.filter((p) => p.spec.nodeName)).toEqual([]);
      log(`no untainted node: ${replicas} CPU pods stay Pending (Unschedulable), none on a GPU host`);
    } else {
      const spread = await poll(`${replicas} cpu-spread pods bound`, async () => {
        const ps = await pods(['-n', 'default', '-l', 'app=cpu-spread']);
        return ps.length === replicas && ps.every((p) => p.spec.nodeName) ? ps : undefined;
      });
      const perNode = new Map<string, number>();
      for (const p of spread) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
      log(`${replicas} CPU pods bound in ${Date.now() - t0} ms: ${[...perNode].map(([n, c]) => `${n}=${c}`).join(', ')}`);
      for (const node of perNode.keys()) expect(untainted, node).toContain(node);
    }
    // And over the whole cluster: every pod on a GPU host asks for GPUs.
    const onGpuHosts = (await pods()).filter((p) => p.spec.nodeName && gpuHostNames.has(p.spec.nodeName) && gpusOf(p) === 0);
    expect(onGpuHosts.map((p) => `${label(p)} -> ${p.spec.nodeName}`)).toEqual([]);
  });

  it('a pod asking for more GPUs than any host has stays Pending: PodScheduled=False, reason Unschedulable, a FailedScheduling event', async () => {
    const most = Math.max(...view.gpuHosts.map((h) => h.spec.gpu!.count));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'gpu-over-ask', namespace: 'default' },
      spec: {
        nodeSelector: { [GPU_NODE_LABEL]: 'true' },
        tolerations: [GPU_TOLERATION],
        containers: [{ name: 'c', image: PAUSE_IMAGE, resources: { limits: { [GPU_RESOURCE]: String(most + 1) } } }],
      },
    };
    await applyReal([pod]);
    const condition = await poll('PodScheduled=False on gpu-over-ask', async () => {
      const [p] = await pods(['-n', 'default', '--field-selector', 'metadata.name=gpu-over-ask']);
      return p?.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(condition.reason).toBe('Unschedulable');
    expect(condition.message).toMatch(new RegExp(`Insufficient ${GPU_RESOURCE.replace('.', '\\.')}`));
    const event = await poll('FailedScheduling event for gpu-over-ask', async () => {
      const evs = (await json<{ items: any[] }>(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=gpu-over-ask,reason=FailedScheduling'])).items;
      return evs[0];
    });
    expect(event.type).toBe('Warning');
    const [p] = await pods(['-n', 'default', '--field-selector', 'metadata.name=gpu-over-ask']);
    expect(p!.spec.nodeName).toBeUndefined();
    expect(p!.status.phase).toBe('Pending');
    log(`gpu-over-ask (${most + 1} GPUs, largest host has ${most}): Pending, ${condition.reason}: ${condition.message}`);
  });

  it("each environment's GPU quota refuses (403 Forbidden, exceeded quota) the pod that would exceed it, and admits one that fits", async () => {
    const gpuQuotas = quotas.filter((q) => q.spec.hard[QUOTA_GPU] !== undefined);
    expect(gpuQuotas.length).toBeGreaterThan(0);
    for (const q of gpuQuotas) {
      const ns = q.metadata.namespace!;
      const live = await json<{ status: { hard?: Record<string, string>; used?: Record<string, string> } }>(['get', 'resourcequota', q.metadata.name, '-n', ns]);
      const hard = Number(live.status.hard?.[QUOTA_GPU] ?? q.spec.hard[QUOTA_GPU]);
      const used = Number(live.status.used?.[QUOTA_GPU] ?? 0);
      const gpuPod = (name: string, gpus: number) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec: {
          nodeSelector: { [GPU_NODE_LABEL]: 'true' },
          tolerations: [GPU_TOLERATION],
          containers: [{ name: 'c', image: PAUSE_IMAGE, resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { [GPU_RESOURCE]: String(gpus), memory: '16Mi' } } }],
        },
      });
      const over = await cp.kubectl(['create', '-f', '-'], { input: yaml.dump(gpuPod('quota-over', hard - used + 1)) });
      expect(over.code, `${ns}: ${hard - used + 1} GPU(s) with ${used}/${hard} used must be refused`).not.toBe(0);
      expect(over.stderr).toMatch(/\(Forbidden\)/);
      expect(over.stderr).toMatch(new RegExp(`exceeded quota: ${q.metadata.name}.*${QUOTA_GPU.replace(/\./g, '\\.')}`));
      log(`${ns}: quota ${used}/${hard} GPUs used; a pod asking ${hard - used + 1}: ${over.stderr.split('\n').find((l) => /Forbidden/.test(l))}`);
      if (hard - used >= 1) {
        const fits = await cp.kubectl(['create', '-f', '-'], { input: yaml.dump(gpuPod('quota-fits', hard - used)) });
        expect(fits.code, `${ns}: ${hard - used} GPU(s) with ${used}/${hard} used must be admitted\n${fits.stderr}`).toBe(0);
        await kubectl(['delete', 'pod', 'quota-fits', '-n', ns, '--force', '--grace-period=0']);
      }
    }
  });
});

describe('the fixtures with GPU hosts', () => {
  it('are the ones the brief names (none silently dropped)', () => {
    expect(fixtures.map((f) => f.fixture).sort()).toEqual(['containerd2', 'five-control-planes', 'private-registry', 'rhel9-ha', 'runbook-ha', 'runbook-single']);
  });
});
