import yaml from 'js-yaml';
import { addonFiles } from '../addon.js';
import { describe, expect, it } from 'vitest';
import { deriveView, type ClusterView } from '../../../spec/derive.js';
import { GPU_OPERATOR_VERSIONS, GpuOperator, type ClusterSpec } from '../../../spec/schema.js';
import { loadFixture, testInputs } from '../../../../test/support/fixtures.js';
import { valuesPath } from '../helm.js';
import { GPU_CHECK_PATH, GPU_OPERATOR_MANIFEST_PATH, GPU_OPERATOR_RELEASES, gpuOperatorAddon, OPERATOR_TOOLKIT_DROPIN } from './gpu-operator.js';

const UPSTREAM_HOSTS = /\b(docker\.io|quay\.io|nvcr\.io|registry\.k8s\.io|ghcr\.io|gcr\.io)\//;
type Obj = Record<string, any>;

function view(fixture: string, patch?: (s: ClusterSpec) => void): ClusterView {
  const spec = structuredClone(loadFixture(fixture));
  patch?.(spec);
  return deriveView(spec);
}
const withRegistry = (s: ClusterSpec) => {
  s.spec.offline.registry = 'registry.local:5000/k8s';
};
const allOperator = (s: ClusterSpec) => {
  s.spec.addons.gpuOperator.driver = 'operator';
  s.spec.addons.gpuOperator.toolkit = 'operator';
};

function rendered(v: ClusterView) {
  const files = addonFiles(gpuOperatorAddon, v, testInputs());
  const get = (p: string) => files.find((f) => f.path === p)!.content;
  return {
    files,
    values: yaml.load(get(valuesPath('gpu-operator'))) as Obj,
    operator: (yaml.loadAll(get(GPU_OPERATOR_MANIFEST_PATH)) as Obj[]).filter((d) => d),
    check: (yaml.loadAll(get(GPU_CHECK_PATH)) as Obj[]).filter((d) => d),
  };
}

/**
 * The images the operator will pull for the pinned components: "<repository>/<image>:<version>" for every enabled
 * component (the driver with the node OS appended by the operator), plus the NFD subchart's repository:tag.
 */
function pinnedImages(values: Obj, driverOsTags: string[]): string[] {
  const out: string[] = [];
  const join = (c: Obj) => `${c.repository}/${c.image}:${c.version}`;
  for (const [key, c] of Object.entries(values)) {
    if (!c || typeof c !== 'object' || typeof (c as Obj).repository !== 'string') continue;
    const comp = c as Obj;
    // off, or only moved under the registry (the chart's image and version of an operand we do not deploy)
    if (comp.enabled === false || comp.image === undefined) continue;
    if (key === 'driver') driverOsTags.forEach((os) => out.push(`${join(comp)}-${os}`));
    else out.push(join(comp));
    for (const sub of ['initContainer', 'manager']) if (comp[sub]) out.push(join(comp[sub]));
  }
  const nfd = values['node-feature-discovery']?.image;
  if (nfd) out.push(`${nfd.repository}:${nfd.tag}`);
  return out;
}

describe('gpu-operator: driver and toolkit preinstalled (the runbook)', () => {
  const v = view('runbook-ha');

  it('switches the operator driver and toolkit off and pulls neither', () => {
    const { values } = rendered(v);
    expect(values.driver).toEqual({ enabled: false });
    expect(values.toolkit).toEqual({ enabled: false });
    expect(gpuOperatorAddon.images(v).some((i) => /\/driver:|container-toolkit|driver-manager/.test(i))).toBe(false);
  });

  it('CDI off (containerd 1.6 has none; nvidia stays the default runtime); RuntimeClass nvidia', () => {
    const { values, operator } = rendered(v);
    expect(values.cdi).toEqual({ enabled: false });
    expect(values.operator.runtimeClass).toBe('nvidia');
    expect(operator).toContainEqual(expect.objectContaining({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', handler: 'nvidia', metadata: expect.objectContaining({ name: 'nvidia' }) }));
    const ns = operator.find((d) => d.kind === 'Namespace')!;
    expect(ns.metadata).toMatchObject({ name: 'gpu-operator', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } });
  });

  it('pins every deployed component; images() = what the pins pull + the GPU check images', () => {
    const { values, check } = rendered(v);
    const checkImages = check.map((j) => j.spec.template.spec.containers[0].image);
    expect([...new Set([...pinnedImages(values, []), ...checkImages])].sort()).toEqual(gpuOperatorAddon.images(v));
  });

  it('the Helm release comes from the bundle, after the namespace manifest', () => {
    expect(gpuOperatorAddon.helmReleases(v)).toEqual([
      { release: 'gpu-operator', namespace: 'gpu-operator', chart: 'gpu-operator', version: 'v25.10.1', bundlePath: 'charts/gpu-operator-v25.10.1.tgz' },
    ]);
    // and the GPU check after the release, waited for before anything later takes the GPUs
    expect(gpuOperatorAddon.units(v, testInputs()).map((u) => [u.name, u.action.kind, u.after, u.waitFor?.map((j) => j.name) ?? []])).toEqual([
      ['gpu-operator-namespace', 'apply', [], []],
      ['gpu-operator', 'helm', ['gpu-operator-namespace'], []],
      ['gpu-check', 'apply', ['gpu-operator'], ['gpu-check-nvidia-smi', 'gpu-check-vectoradd']],
    ]);
  });
});

describe('gpu-operator: driver and toolkit by the operator, private registry', () => {
  const v = view('private-registry'); // driver: operator, toolkit: operator, registry set

  it('every component repository is in the registry; no file names an upstream registry', () => {
    const { values, files } = rendered(v);
    for (const f of files) expect(f.content, f.path).not.toMatch(UPSTREAM_HOSTS);
    for (const [k, c] of Object.entries(values)) {
      if (c && typeof c === 'object' && 'repository' in c) expect((c as Obj).repository, k).toMatch(/^registry\.local:5000\/k8s\//);
    }
    expect(gpuOperatorAddon.images(v).every((i) => i.startsWith('registry.local:5000/k8s/'))).toBe(true);
  });

  it('the toolkit writes a containerd drop-in built from the effective config, nvidia as the default runtime', () => {
    const env = Object.fromEntries((rendered(v).values.toolkit.env as Obj[]).map((e) => [e.name, e.value]));
    expect(env).toEqual({
      CONTAINERD_CONFIG: '/etc/containerd/config.toml',
      RUNTIME_DROP_IN_CONFIG: OPERATOR_TOOLKIT_DROPIN,
      RUNTIME_CONFIG_SOURCE: 'command,file',
      CONTAINERD_SOCKET: '/run/containerd/containerd.sock',
      NVIDIA_RUNTIME_SET_AS_DEFAULT: 'true',
    });
    expect(OPERATOR_TOOLKIT_DROPIN).toMatch(/^\/etc\/containerd\/conf\.d\/.*\.toml$/);
  });

  it('pulls the driver for the GPU hosts OS (rhel8.9 tag), its manager and the toolkit; images() = pins + check', () => {
    const { values, check } = rendered(v);
    const imgs = gpuOperatorAddon.images(v);
    expect(imgs).toContain('registry.local:5000/k8s/nvidia/driver:580.105.08-rhel8.9');
    expect(imgs).toContain('registry.local:5000/k8s/nvidia/cloud-native/k8s-driver-manager:v0.9.1');
    expect(imgs).toContain('registry.local:5000/k8s/nvidia/k8s/container-toolkit:v1.18.1');
    const checkImages = check.map((j) => j.spec.template.spec.containers[0].image);
    expect([...new Set([...pinnedImages(values, ['rhel8.9']), ...checkImages])].sort()).toEqual(imgs);
  });

  it('one driver image per GPU host OS', () => {
    const mixed = view('five-control-planes', (s) => {
      allOperator(s);
      s.spec.hosts[6]!.os = 'debian12';
    });
    expect(gpuOperatorAddon.images(mixed).filter((i) => i.includes('/driver:'))).toEqual(['nvcr.io/nvidia/driver:580.105.08-debian12', 'nvcr.io/nvidia/driver:580.105.08-rhel8.9']);
  });
});

describe('gpu-operator: the GPU check (runbook gpu-test.yaml)', () => {
  it('two Jobs, one GPU each, only on GPU hosts (label selector + the GPU taint toleration), never restarting Always', () => {
    const { check } = rendered(view('runbook-single'));
    expect(check.map((j) => `${j.kind}/${j.metadata.namespace}/${j.metadata.name}`)).toEqual(['Job/default/gpu-check-nvidia-smi', 'Job/default/gpu-check-vectoradd']);
    for (const j of check) {
      const pod = j.spec.template.spec;
      expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
      expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(['OnFailure', 'Never']).toContain(pod.restartPolicy);
      expect(pod.containers).toHaveLength(1);
      expect(pod.containers[0].resources.limits).toEqual({ 'nvidia.com/gpu': 1 });
    }
    const byName = Object.fromEntries(check.map((j) => [j.metadata.name, j.spec.template.spec]));
    expect(byName['gpu-check-vectoradd']!.containers[0].image).toBe('nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0-ubuntu22.04');
    expect(byName['gpu-check-vectoradd']!.restartPolicy).toBe('OnFailure');
    expect(byName['gpu-check-nvidia-smi']!.containers[0].command).toEqual(['nvidia-smi']);
  });

  it('uses the registry for its images too', () => {
    const { check } = rendered(view('runbook-single', withRegistry));
    for (const j of check) expect(j.spec.template.spec.containers[0].image).toMatch(/^registry\.local:5000\/k8s\//);
  });
});

describe('gpu-operator: not rendered', () => {
  it('when disabled, or when no host has a GPU', () => {
    for (const v of [view('debian12'), view('runbook-ha', (s) => (s.spec.addons.gpuOperator.enabled = false))]) {
      expect(addonFiles(gpuOperatorAddon, v, testInputs())).toEqual([]);
      expect(gpuOperatorAddon.images(v)).toEqual([]);
      expect(gpuOperatorAddon.helmReleases(v)).toEqual([]);
    }
    const noGpu = view('runbook-ha', (s) => {
      for (const h of s.spec.hosts) delete h.gpu;
    });
    expect(addonFiles(gpuOperatorAddon, noGpu, testInputs())).toEqual([]);
  });
});

describe('gpu-operator versions', () => {
  it('the spec accepts exactly the operator versions this module has image tables for', () => {
    expect([...GPU_OPERATOR_VERSIONS].sort()).toEqual(Object.keys(GPU_OPERATOR_RELEASES).sort());
    expect(GpuOperator.safeParse({ version: 'v25.3.4' }).error?.issues.map((i) => i.path)).toEqual([['version']]);
  });
});
