// Cross-file consistency for every fixture, read back from the RENDERED files (not from generator internals):
//  (a) images.txt == the set of images actually referenced: manifests' `image:` fields, image shapes in Helm values,
//      kubeadm's images (from its rendered ClusterConfiguration), containerd's sandbox image;
//  (b) with offline.registry set, nothing references an upstream registry;
//  (c) pod CIDR: kubeadm ClusterConfiguration / kube-proxy == spec podSubnet == Calico's pool; containerd's sandbox
//      image == kubeadm's pause image; GPU hosts run nvidia as containerd's default runtime;
//  (d) every pod template requesting nvidia.com/gpu selects GPU nodes and tolerates the GPU taint; nothing else
//      tolerates it (node agents excepted); GPU hosts carry the taint and the label our selectors use;
//  (e) NodePorts across all rendered Services and values files are unique and inside the spec's range.
// Checks on files owned by other generators (kubeadm, containerd, calico) become mandatory as soon as that generator
// or addon is registered; before that they run when the file exists.
import yaml from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { generators, outputPath, renderCluster, type GeneratedFile } from '../../src/generators/index.js';
import { addons } from '../../src/generators/manifests/index.js';
import { parseImageList } from '../../src/generators/manifests/images/images.js';
import { GPU_NODE_LABEL, GPU_TAINT_KEY } from '../../src/generators/manifests/models/common.js';
import { kubeadmImages, pauseImage } from '../../src/images.js';
import { deriveView } from '../../src/spec/derive.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';

type Obj = Record<string, any>;

const UPSTREAM_REGISTRIES = ['docker.io', 'registry-1.docker.io', 'registry.k8s.io', 'k8s.gcr.io', 'gcr.io', 'ghcr.io', 'quay.io', 'nvcr.io', 'cr.weaviate.io', 'public.ecr.aws', 'mcr.microsoft.com'];
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);

function walk(x: unknown, visit: (o: Obj, path: string[]) => void, path: string[] = []): void {
  if (Array.isArray(x)) x.forEach((v, i) => walk(v, visit, [...path, String(i)]));
  else if (isObj(x)) {
    visit(x, path);
    for (const [k, v] of Object.entries(x)) walk(v, visit, [...path, k]);
  }
}

/** Every `image:` string in Kubernetes manifests, including pod templates held in ConfigMap data (the
 * local-path provisioner's helperPod.yaml). */
function manifestImages(docs: unknown[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    walk(d, (o) => typeof o.image === 'string' && out.push(o.image));
    if (isObj(d) && d.kind === 'ConfigMap' && isObj(d.data)) {
      for (const v of Object.values(d.data)) {
        if (typeof v !== 'string' || !/\bimage\b/.test(v)) continue;
        let parsed: unknown;
        try {
          parsed = yaml.load(v);
        } catch {
          continue;
        }
        walk(parsed, (o) => typeof o.image === 'string' && out.push(o.image));
      }
    }
  }
  return out;
}

/** A listed image this prefix accounts for: a reference whose final name is decided by software at run time. */
interface ImplicitRef {
  prefix: string;
  why: string;
}

interface Extracted {
  images: string[];
  implicit: ImplicitRef[];
  unrecognised: string[];
}

/**
 * Image references in Helm values, in the shapes charts use:
 *   image: "<ref>"                                    plain string
 *   {registry?, repository, tag, distroless?}         bitnami, dify, dashboard, kube-prometheus-stack
 *                                                     (prometheus-node-exporter appends "-distroless" to the tag)
 *   {registry, repo, tag}                             weaviate
 *   {repository|registry, image, version|tag}         gpu-operator, tigera-operator ("<repository>/<image>:<version>")
 * gpu-operator's `driver` is pulled as <version>-<os><os-version>, so it is an implicit prefix. Subtrees with
 * `enabled: false` are skipped (the chart renders nothing from them). A map with a tag/version or image-ish keys that
 * fits none of these is reported as unrecognised, so a new shape cannot silently drop out of the comparison.
 */
function valuesImages(values: unknown): Extracted {
  const out: Extracted = { images: [], implicit: [], unrecognised: [] };
  const visit = (x: unknown, path: string[]): void => {
    if (Array.isArray(x)) return x.forEach((v, i) => visit(v, [...path, String(i)]));
    if (!isObj(x) || x.enabled === false) return;
    const o = x;
    const key = path[path.length - 1] ?? '';
    const where = path.join('.');
    const tag = typeof o.tag === 'string' || typeof o.tag === 'number' ? String(o.tag) : undefined;
    const version = typeof o.version === 'string' ? o.version : tag;
    const base = typeof o.repository === 'string' ? o.repository : typeof o.registry === 'string' ? o.registry : undefined;
    if (typeof o.image === 'string' && base !== undefined) {
      if (version === undefined) out.unrecognised.push(`${where} (image without a version)`);
      else if (key === 'driver') out.implicit.push({ prefix: `${base}/${o.image}:${version}-`, why: `${where}: gpu-operator adds the host OS to the driver tag` });
      else out.images.push(`${base}/${o.image}:${version}`);
    } else if (typeof o.image === 'string') {
      out.images.push(o.image);
    } else if (tag !== undefined) {
      const repo = o.repository ?? o.repo;
      if (typeof repo === 'string') out.images.push(`${typeof o.registry === 'string' && o.registry ? `${o.registry}/` : ''}${repo}:${tag}${o.distroless === true ? '-distroless' : ''}`);
      else out.unrecognised.push(where);
    } else if (/image/i.test(key) && (o.repository !== undefined || o.repo !== undefined)) {
      out.unrecognised.push(where);
    }
    for (const [k, v] of Object.entries(o)) visit(v, [...path, k]);
  };
  visit(values, []);
  return out;
}

/** Images named by cluster files that are not plain manifests: the Calico operator's Installation, and the
 * "needs-upstream" notes of manifests made at apply time from the bundle ("#   <upstream> -> <rendered>" lines). */
function indirectImages(docs: Obj[], notes: GeneratedFile[], calicoVersion: string): Extracted {
  const out: Extracted = { images: [], implicit: [], unrecognised: [] };
  for (const d of docs) {
    if (d.kind === 'Installation' && typeof d.spec?.registry === 'string') {
      const r = d.spec.registry.endsWith('/') ? d.spec.registry : `${d.spec.registry}/`;
      out.implicit.push({ prefix: `${r}${d.spec.imagePath ?? 'calico'}/`, why: `Installation/${d.metadata?.name}: the tigera operator pulls Calico ${calicoVersion} from spec.registry` });
    }
  }
  for (const f of notes) {
    for (const m of f.content.matchAll(/^#\s+\S+\s+->\s+(\S+)\s*$/gm)) out.images.push(m[1]!);
  }
  return out;
}

/** A pod spec and where it came from, for every pod-bearing document. */
function podSpecs(docs: Obj[]): { where: string; kind: string; spec: Obj }[] {
  const out: { where: string; kind: string; spec: Obj }[] = [];
  for (const d of docs) {
    const where = `${d.kind}/${d.metadata?.namespace ?? ''}/${d.metadata?.name}`;
    if (d.kind === 'Pod') out.push({ where, kind: d.kind, spec: d.spec });
    else if (WORKLOAD_KINDS.has(d.kind)) out.push({ where, kind: d.kind, spec: d.spec?.template?.spec });
    else if (d.kind === 'CronJob') out.push({ where, kind: d.kind, spec: d.spec?.jobTemplate?.spec?.template?.spec });
  }
  return out.filter((p) => isObj(p.spec));
}

function gpuCount(pod: Obj): number {
  const containers: Obj[] = [...(pod.containers ?? []), ...(pod.initContainers ?? [])];
  return Math.max(0, ...containers.map((c) => Number(c.resources?.limits?.['nvidia.com/gpu'] ?? c.resources?.requests?.['nvidia.com/gpu'] ?? 0)));
}

function toleratesGpuTaint(tolerations: unknown): boolean {
  if (!Array.isArray(tolerations)) return false;
  return tolerations.some(
    (t: Obj) => (t.key === GPU_TAINT_KEY || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === 'NoSchedule') && (t.operator === 'Exists' || t.operator === undefined || t.operator === 'Equal'),
  );
}

function selectsGpuNodes(pod: Obj): boolean {
  if (pod.nodeSelector?.[GPU_NODE_LABEL] === 'true') return true;
  const terms: Obj[] = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.length > 0 && terms.every((t) => (t.matchExpressions ?? []).some((e: Obj) => e.key === GPU_NODE_LABEL && (e.operator === 'Exists' || (e.operator === 'In' && e.values?.includes('true')))));
}

/** The kubeadm documents of one rendered config file, by kind. */
function kubeadmDocs(f: GeneratedFile | undefined): Map<string, Obj> {
  const m = new Map<string, Obj>();
  if (!f) return m;
  for (const d of yaml.loadAll(f.content) as Obj[]) if (isObj(d)) m.set(d.kind, d);
  return m;
}

function tomlValues(text: string, key: string): string[] {
  const out: string[] = [];
  walk(parseToml(text), (o) => typeof o[key] === 'string' && out.push(o[key]));
  return out;
}

for (const name of validFixtureNames()) {
  describe(`consistency: ${name}`, () => {
    const spec = loadFixture(name);
    const view = deriveView(spec);
    const s = spec.spec;
    const files = renderCluster(spec, testInputs());
    const byPath = new Map(files.map((f) => [outputPath(f), f]));
    const clusterYaml = files.filter((f) => f.kind === 'cluster' && /^cluster\/[^/]+\.ya?ml$/.test(f.path));
    const valuesFiles = files.filter((f) => f.kind === 'cluster' && /^cluster\/helm\/.+\.values\.yaml$/.test(f.path));
    const manifestDocs = clusterYaml.flatMap((f) => (yaml.loadAll(f.content) as unknown[]).filter(isObj));
    const first = view.firstControlPlane.name;
    const kubeadmInit = byPath.get(`hosts/${first}/etc/kubernetes/airgap-k8s/kubeadm-init.yaml`);
    const hasGenerator = (g: string) => generators.some((x) => x.name === g);
    const hostContainerd = (host: string) =>
      files.filter((f) => f.kind === 'host' && f.host === host && /^\/etc\/containerd\/(config\.toml|conf\.d\/[^/]+\.toml)$/.test(f.path)).sort((a, b) => (a.path === '/etc/containerd/config.toml' ? -1 : b.path === '/etc/containerd/config.toml' ? 1 : a.path < b.path ? -1 : 1));
    const cluster = kubeadmDocs(kubeadmInit).get('ClusterConfiguration');
    const imageRepository: string = cluster?.imageRepository ?? '';
    const podSubnet = s.network.podSubnet;

    it('(a) images.txt lists exactly the images the rendered files reference', () => {
      const referenced = new Set<string>(manifestImages(manifestDocs));
      const implicit: ImplicitRef[] = [];
      const unrecognised: string[] = [];
      const add = (r: Extracted, file: string) => {
        r.images.forEach((i) => referenced.add(i));
        implicit.push(...r.implicit);
        unrecognised.push(...r.unrecognised.map((p) => `${file}: ${p}`));
      };
      for (const f of valuesFiles) add(valuesImages(yaml.load(f.content)), f.path);
      add(indirectImages(manifestDocs, files.filter((f) => f.kind === 'cluster' && f.path.endsWith('.needs-upstream.txt')), s.addons.cni.calico.version), 'cluster/');
      expect(unrecognised, 'image-like values in a shape the extractor does not know').toEqual([]);
      if (kubeadmInit) kubeadmImages(s.kubernetesVersion, imageRepository).forEach((i) => referenced.add(i));
      else kubeadmImages(s.kubernetesVersion, view.registry).forEach((i) => referenced.add(i));
      for (const h of view.hosts) for (const f of hostContainerd(h.name)) [...tomlValues(f.content, 'sandbox_image'), ...tomlValues(f.content, 'sandbox')].forEach((i) => referenced.add(i));
      const listFile = byPath.get('images.txt');
      expect(listFile, 'images.txt is rendered').toBeDefined();
      const listed = parseImageList(listFile!.content);
      expect(listed, 'images.txt is sorted and unique').toEqual([...new Set(listed)].sort());
      const explained = (i: string) => referenced.has(i) || implicit.some((p) => i.startsWith(p.prefix));
      expect(listed.filter((i) => !explained(i)), 'listed in images.txt but referenced nowhere').toEqual([]);
      expect([...referenced].filter((i) => !listed.includes(i)).sort(), 'referenced but missing from images.txt').toEqual([]);
      expect(implicit.filter((p) => !listed.some((i) => i.startsWith(p.prefix))).map((p) => p.why), 'implied images missing from images.txt').toEqual([]);
      // an implied Calico image carries the spec's Calico version
      const calicoImplied = listed.filter((i) => !referenced.has(i) && implicit.some((p) => p.why.startsWith('Installation/') && i.startsWith(p.prefix)));
      expect(calicoImplied.filter((i) => !i.endsWith(`:${s.addons.cni.calico.version}`))).toEqual([]);
    });

    it('(b) with a private registry, nothing references an upstream registry', () => {
      if (!view.registry) return;
      const offenders: string[] = [];
      for (const f of files) {
        const p = outputPath(f);
        if (/\/etc\/containerd\/certs\.d\//.test(p)) continue; // mirror configuration names the upstream hosts it redirects
        for (const host of UPSTREAM_REGISTRIES) {
          if (new RegExp(`(^|[\\s"'=/:,\\[])${host.replace(/\./g, '\\.')}/`).test(f.content)) offenders.push(`${p}: ${host}`);
        }
      }
      expect(offenders).toEqual([]);
      const listed = parseImageList(byPath.get('images.txt')!.content);
      expect(listed.filter((i) => !i.startsWith(`${view.registry}/`))).toEqual([]);
    });

    it('(c) one pod CIDR everywhere, one pause image, nvidia the default runtime on GPU hosts', () => {
      if (hasGenerator('kubeadm')) expect(kubeadmInit, 'kubeadm-init.yaml on the first control plane').toBeDefined();
      if (kubeadmInit) {
        const docs = kubeadmDocs(kubeadmInit);
        expect(docs.get('ClusterConfiguration')?.networking?.podSubnet).toBe(podSubnet);
        const proxy = docs.get('KubeProxyConfiguration');
        if (proxy?.clusterCIDR !== undefined) expect(proxy.clusterCIDR).toBe(podSubnet);
      }
      // Calico: the manifest's CALICO_IPV4POOL_CIDR, or the operator's Installation pools
      const poolCidrs: string[] = [];
      for (const d of manifestDocs) {
        if (d.kind === 'Installation') for (const p of d.spec?.calicoNetwork?.ipPools ?? []) poolCidrs.push(p.cidr);
        for (const { spec: pod } of podSpecs([d])) {
          for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
            for (const e of c.env ?? []) if (e.name === 'CALICO_IPV4POOL_CIDR') poolCidrs.push(e.value);
          }
        }
      }
      // manifest mode without the upstream calico.yaml: the note says what the transform will set
      for (const f of files.filter((x) => x.kind === 'cluster' && x.path.endsWith('.needs-upstream.txt'))) {
        for (const m of f.content.matchAll(/^#\s+CALICO_IPV4POOL_CIDR\s+(\S+)\s*$/gm)) poolCidrs.push(m[1]!);
      }
      if (addons.some((a) => a.name === 'calico')) expect(poolCidrs.length, 'Calico pool rendered').toBeGreaterThan(0);
      expect(poolCidrs.filter((c) => c !== podSubnet)).toEqual([]);

      const pause = pauseImage(s.kubernetesVersion, kubeadmInit ? imageRepository : view.registry);
      for (const h of view.hosts) {
        if (!h.isControlPlane && !h.isWorker) continue;
        const configs = hostContainerd(h.name);
        if (hasGenerator('containerd')) expect(configs.length, `containerd config on ${h.name}`).toBeGreaterThan(0);
        const sandboxes = configs.flatMap((f) => [...tomlValues(f.content, 'sandbox_image'), ...tomlValues(f.content, 'sandbox')]);
        if (configs.length > 0) expect(sandboxes.length, `sandbox image set on ${h.name}`).toBeGreaterThan(0);
        expect(sandboxes.filter((x) => x !== pause), `sandbox image on ${h.name} differs from kubeadm's ${pause}`).toEqual([]);
        const toolkitByOperator = s.addons.gpuOperator.enabled && s.addons.gpuOperator.toolkit === 'operator';
        if (h.isGpu && toolkitByOperator) {
          // the operator's toolkit writes the nvidia runtime at run time; it must make it the default (its default)
          const values = valuesFiles.find((f) => f.path === 'cluster/helm/gpu-operator.values.yaml');
          if (addons.some((a) => a.name === 'gpu-operator')) expect(values, 'gpu-operator values').toBeDefined();
          const env: Obj[] = values ? ((yaml.load(values.content) as Obj).toolkit?.env ?? []) : [];
          const asDefault = env.filter((e) => e.name === 'CONTAINERD_SET_AS_DEFAULT' || e.name === 'NVIDIA_RUNTIME_SET_AS_DEFAULT').map((e) => String(e.value));
          expect(asDefault.filter((v) => v !== 'true'), `toolkit leaves nvidia the default runtime on ${h.name}`).toEqual([]);
        } else if (h.isGpu && configs.length > 0) {
          // imports are applied after the main file, so the last file setting it wins
          const runtimes = configs.flatMap((f) => tomlValues(f.content, 'default_runtime_name'));
          expect(runtimes[runtimes.length - 1], `default runtime on GPU host ${h.name}`).toBe('nvidia');
        }
      }
    });

    it('(d) GPU pods land only on GPU hosts; nothing else tolerates the GPU taint', () => {
      const wrong: string[] = [];
      for (const p of podSpecs(manifestDocs)) {
        const gpus = gpuCount(p.spec);
        if (gpus > 0) {
          if (!selectsGpuNodes(p.spec)) wrong.push(`${p.where}: requests ${gpus} GPU(s) but does not select ${GPU_NODE_LABEL}=true`);
          if (!toleratesGpuTaint(p.spec.tolerations)) wrong.push(`${p.where}: requests GPUs but does not tolerate ${GPU_TAINT_KEY}:NoSchedule`);
        } else if (p.kind !== 'DaemonSet' && toleratesGpuTaint(p.spec.tolerations)) {
          wrong.push(`${p.where}: tolerates the GPU taint without requesting a GPU`);
        }
      }
      for (const f of valuesFiles.filter((x) => !/gpu-operator/.test(x.path))) {
        walk(yaml.load(f.content), (o, path) => {
          if (path[path.length - 1] === 'tolerations' || !Array.isArray(o.tolerations)) return;
          if (toleratesGpuTaint(o.tolerations) && !/daemonset|exporter|device|dcgm|node-exporter|nodeExporter|prometheus-node-exporter/i.test(path.join('.'))) {
            wrong.push(`${f.path}: ${path.join('.')}.tolerations tolerates the GPU taint`);
          }
        });
      }
      expect(wrong).toEqual([]);
      const gpuPods = podSpecs(manifestDocs).filter((p) => gpuCount(p.spec) > 0);
      if (gpuPods.length > 0) expect(view.gpuHosts.length, 'GPU pods need GPU hosts').toBeGreaterThan(0);
      // the GPU Operator (feature discovery) sets the label our selectors use; without it kubeadm must register it
      const gpuLabelByOperator = s.addons.gpuOperator.enabled;
      // the hosts side: every GPU host is tainted (so the tolerations above mean something)
      for (const h of view.gpuHosts) {
        const join = h.isFirstControlPlane ? kubeadmInit : byPath.get(`hosts/${h.name}/etc/kubernetes/airgap-k8s/kubeadm-join.yaml`);
        if (hasGenerator('kubeadm')) expect(join, `kubeadm config for GPU host ${h.name}`).toBeDefined();
        if (!join) continue;
        const reg = [...kubeadmDocs(join).values()].find((d) => d.nodeRegistration)?.nodeRegistration;
        expect((reg?.taints ?? []).some((t: Obj) => t.key === GPU_TAINT_KEY && t.effect === 'NoSchedule'), `GPU taint on ${h.name}`).toBe(true);
        if (gpuPods.length > 0 && !gpuLabelByOperator) {
          const labels = (reg?.kubeletExtraArgs ?? []).filter((a: Obj) => a.name === 'node-labels').map((a: Obj) => String(a.value));
          expect(labels.some((l: string) => l.split(',').includes(`${GPU_NODE_LABEL}=true`)), `${GPU_NODE_LABEL}=true registered for ${h.name}`).toBe(true);
        }
      }
    });

    it('(e) NodePorts are unique and inside the range', () => {
      const ports: [string, number][] = [];
      for (const d of manifestDocs) {
        if (d.kind !== 'Service') continue;
        for (const p of d.spec?.ports ?? []) if (p.nodePort !== undefined) ports.push([`Service/${d.metadata.namespace}/${d.metadata.name}`, p.nodePort]);
      }
      for (const f of valuesFiles) {
        walk(yaml.load(f.content), (o, path) => {
          if (typeof o.nodePort === 'number') ports.push([`${f.path}: ${path.join('.')}`, o.nodePort]);
          if (isObj(o.nodePorts)) for (const [k, v] of Object.entries(o.nodePorts)) if (typeof v === 'number') ports.push([`${f.path}: ${[...path, 'nodePorts', k].join('.')}`, v]);
        });
      }
      const { from, to } = s.network.nodePortRange;
      expect(ports.filter(([, p]) => p < from || p > to)).toEqual([]);
      const seen = new Map<number, string>();
      const dups: string[] = [];
      for (const [where, p] of ports) {
        if (seen.has(p)) dups.push(`${p}: ${seen.get(p)} and ${where}`);
        else seen.set(p, where);
      }
      expect(dups).toEqual([]);
      // every NodePort the spec asks for is actually rendered
      const expected: number[] = s.models.flatMap((m) => (m.service.nodePort === undefined ? [] : [m.service.nodePort]));
      if (s.apps.dify.enabled) expected.push(s.apps.dify.service.nodePort);
      expect(expected.filter((p) => !seen.has(p))).toEqual([]);
    });
  });
}

describe('consistency extractors', () => {
  it('read every image shape, and flag shapes they do not know', () => {
    const r = valuesImages({
      a: { image: { repository: 'reg/x', tag: '1' } },
      b: { image: { registry: 'reg', repository: 'y', tag: '2' } },
      c: { image: { registry: 'reg', repo: 'z', tag: '3' } },
      d: { operator: { repository: 'reg/nvidia', image: 'gpu-operator', version: 'v1' } },
      e: { sidecar: { image: 'reg/plain:4' } },
      f: { odd: { tag: '5' } },
      g: { tigeraOperator: { image: 'tigera/operator', registry: 'reg', version: 'v1.32.3' } },
      h: { image: { registry: 'reg', repository: 'node-exporter', tag: 'v1', distroless: true } },
      i: { driver: { image: 'driver', repository: 'reg/nvidia', version: '580' } },
      j: { enabled: false, image: { repository: 'reg/off', tag: '1' } },
      k: { validator: { image: 'gpu-operator', repository: 'reg/nvidia' } },
    });
    expect(r.images.sort()).toEqual(['reg/node-exporter:v1-distroless', 'reg/nvidia/gpu-operator:v1', 'reg/plain:4', 'reg/tigera/operator:v1.32.3', 'reg/x:1', 'reg/y:2', 'reg/z:3']);
    expect(r.implicit.map((p) => p.prefix)).toEqual(['reg/nvidia/driver:580-']);
    expect(r.unrecognised).toEqual(['f.odd', 'k.validator (image without a version)']);
    expect(manifestImages([{ spec: { template: { spec: { initContainers: [{ image: 'i:1' }], containers: [{ image: 'c:1' }] } } } }])).toEqual(['i:1', 'c:1']);
    const ind = indirectImages([{ kind: 'Installation', metadata: { name: 'default' }, spec: { registry: 'reg/' } }], [{ content: '#   docker.io/calico/cni:v3 -> reg/calico/cni:v3\n# other\n' } as GeneratedFile], 'v3');
    expect(ind.images).toEqual(['reg/calico/cni:v3']);
    expect(ind.implicit.map((p) => p.prefix)).toEqual(['reg/calico/']);
  });

  it('recognise GPU placement and the taint toleration', () => {
    expect(toleratesGpuTaint([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }])).toBe(true);
    expect(toleratesGpuTaint([{ operator: 'Exists' }])).toBe(true);
    expect(toleratesGpuTaint([{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }])).toBe(false);
    expect(selectsGpuNodes({ nodeSelector: { [GPU_NODE_LABEL]: 'true' } })).toBe(true);
    expect(selectsGpuNodes({})).toBe(false);
    expect(gpuCount({ containers: [{ resources: { limits: { 'nvidia.com/gpu': '2' } } }] })).toBe(2);
  });
});
