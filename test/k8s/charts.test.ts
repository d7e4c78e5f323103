// The REAL upstream charts at the versions we pin, with the values files we render (issue 17): for every valid
// fixture and Helm release, `helm template` succeeds; every image the output runs (containers, init containers, the
// GPU Operator ClusterPolicy's deployed operands, the Prometheus Operator's config-reloader argument) is in the
// fixture's images.txt; with a registry, no upstream registry host is left anywhere in the output (disabled
// components included); and every document is accepted by a real kube-apiserver v1.34.3 (server-side apply, dry run,
// strict field validation) with the REAL CRDs of the charts and of Calico's manifests installed first.
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCluster } from '../../src/generators/index.js';
import { helmReleases } from '../../src/generators/manifests/index.js';
import { valuesPath, type HelmRelease } from '../../src/generators/manifests/helm.js';
import { IMAGES_PATH, parseImageList } from '../../src/generators/manifests/images/images.js';
import { deriveView } from '../../src/spec/derive.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';
import { docsOf, helmTemplate, installRealCrds, type K8sObject } from './upstream.js';

/** Hosts of public registries: none may remain in a chart's output when the spec has a registry. */
const UPSTREAM_HOSTS = /\b(nvcr\.io|quay\.io|docker\.io|registry-1\.docker\.io|registry\.k8s\.io|k8s\.gcr\.io|gcr\.io|ghcr\.io|public\.ecr\.aws|mcr\.microsoft\.com)\//;

/**
 * Images an output configures but never runs with our values, each with why it need not be in the bundle.
 * (They must still be under the registry: the host scan above covers them.)
 */
const CONFIGURED_NOT_RUN: { arg: RegExp; why: string }[] = [
  { arg: /^--thanos-default-base-image=/, why: 'only for a Thanos sidecar or ruler, which no spec configures' },
];

type Obj = Record<string, unknown>;

/** Images of containers and init containers anywhere in an object (pod templates at any depth). */
function containerImages(o: unknown, out: string[] = []): string[] {
  if (Array.isArray(o)) for (const x of o) containerImages(x, out);
  else if (o && typeof o === 'object') {
    for (const [k, v] of Object.entries(o as Obj)) {
      if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) for (const c of v as Obj[]) if (typeof c.image === 'string') out.push(c.image);
      containerImages(v, out);
    }
  }
  return out;
}

/** The GPU Operator's ClusterPolicy operands that are deployed: repository/image:version (version may be a digest). */
function clusterPolicyImages(d: K8sObject): string[] {
  const spec = (d.spec ?? {}) as Record<string, Obj>;
  const sandbox = (spec.sandboxWorkloads as Obj | undefined)?.enabled === true;
  const SANDBOX_ONLY = new Set(['vfioManager', 'vgpuDeviceManager', 'sandboxDevicePlugin', 'kataManager', 'vgpuManager', 'ccManager']);
  const out: string[] = [];
  for (const [name, c] of Object.entries(spec)) {
    if (!c || typeof c !== 'object' || typeof c.image !== 'string' || typeof c.repository !== 'string') continue;
    if (c.enabled === false || (SANDBOX_ONLY.has(name) && !sandbox)) continue;
    const v = String(c.version ?? '');
    // the driver's tag gets the node's OS appended by the operator (580.105.08-rhel8.9): matched as a prefix below
    out.push(`${c.repository}/${c.image}${v.startsWith('sha256:') ? `@${v}` : `:${v}`}${name === 'driver' ? '-*' : ''}`);
  }
  return out;
}

/** Images passed to a container as `--flag=<image>` (the Prometheus Operator's), unless listed as configured-not-run. */
function argImages(o: unknown, out: string[] = []): string[] {
  if (Array.isArray(o)) for (const x of o) argImages(x, out);
  else if (o && typeof o === 'object') {
    for (const [k, v] of Object.entries(o as Obj)) {
      if (k === 'args' && Array.isArray(v)) {
        for (const a of v) {
          const m = typeof a === 'string' ? /^--[a-z-]*(?:image|reloader)=(.+:.+)$/.exec(a) : null;
          if (m && !CONFIGURED_NOT_RUN.some((c) => c.arg.test(a as string))) out.push(m[1]!);
        }
      }
      argImages(v, out);
    }
  }
  return out;
}

interface Case {
  fixture: string;
  release: HelmRelease;
  values: string;
  images: Set<string>;
  registry: string;
  kubeVersion: string;
}

const cases: Case[] = validFixtureNames().flatMap((fixture) => {
  const spec = loadFixture(fixture);
  const view = deriveView(spec);
  const files = renderCluster(spec, testInputs());
  const text = (p: string) => files.find((f) => f.path === p)!.content;
  const images = new Set(parseImageList(text(IMAGES_PATH)));
  return helmReleases(view).map((release) => ({ fixture, release, values: text(valuesPath(release.release)), images, registry: view.registry, kubeVersion: view.kubernetesVersion }));
});

let cp: ControlPlane;
let helm: string;
const outputs = new Map<Case, { docs: K8sObject[]; text: string }>();

beforeAll(async () => {
  const bin = await toolchainBin();
  helm = `${bin}/helm`;
  cp = await startControlPlane({ bin });
  await installRealCrds(cp, helm, cases.map((c) => c.release));
}, TOOLCHAIN_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
});

describe.each(cases)('$fixture: helm release $release.release ($release.chart $release.version)', (c) => {
  it('helm template of the real chart with our values file succeeds', async () => {
    const t = await helmTemplate(helm, c.release, c.values, c.kubeVersion);
    expect(t.code, `${t.command}\n${t.stderr}`).toBe(0);
    if (t.missing.length) console.log(`[charts] ${c.fixture} ${c.release.release}: subcharts not in ../shared/upstream, switched off for this check: ${t.missing.join(', ')}`);
    outputs.set(c, { docs: docsOf(t.stdout), text: t.stdout });
  });

  it('every image the output runs is in images.txt; with a registry, no upstream registry host anywhere in it', () => {
    const out = outputs.get(c);
    expect(out, 'helm template did not run').toBeDefined();
    const run = new Set<string>();
    for (const d of out!.docs) {
      for (const i of containerImages(d)) run.add(i);
      for (const i of argImages(d)) run.add(i);
      if (d.kind === 'ClusterPolicy') for (const i of clusterPolicyImages(d)) run.add(i);
    }
    expect(run.size).toBeGreaterThan(0);
    const listed = (i: string) => (i.endsWith('-*') ? [...c.images].some((x) => x.startsWith(i.slice(0, -1))) : c.images.has(i));
    expect([...run].filter((i) => !listed(i)), `images the ${c.release.chart} chart runs that images.txt lacks`).toEqual([]);
    if (c.registry) {
      // CRDs' schema descriptions quote example images (docker.io/calico/node:v3.17.1): documentation, not references
      const left = upstreamReferences(out!.text);
      expect(left, `upstream registry references left in ${c.release.chart} with registry ${c.registry}`).toEqual([]);
    }
  });

  it('every document is accepted by kube-apiserver v1.34.3 (server-side dry run, strict) with the real CRDs', async () => {
    const out = outputs.get(c);
    expect(out, 'helm template did not run').toBeDefined();
    const docs = out!.docs.filter((d) => d.kind !== 'CustomResourceDefinition');
    const namespaces = [...new Set([c.release.namespace, ...docs.map((d) => d.metadata.namespace).filter((n): n is string => !!n)])];
    // helm's own text, as `helm install` sends it (YAML 1.1: 0755 is octal), documents without a namespace into the
    // release's (-n), as helm does; the others into theirs
    const ns = await cp.kubectl(['apply', '--server-side', '--field-manager=airgap-k8s-test', '-f', '-'], {
      input: namespaces.map((name) => yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })).join('---\n'),
    });
    expect(ns.code, ns.stderr).toBe(0);
    const groups = new Map<string, string[]>();
    for (const text of withoutCrds(out!.text).split(/^---[ \t]*$/m)) {
      const d = docsOf(text)[0];
      if (!d) continue;
      const ns = d.metadata.namespace ?? c.release.namespace;
      groups.set(ns, [...(groups.get(ns) ?? []), text]);
    }
    let applied = 0;
    for (const [ns, texts] of groups) {
      const r = await cp.kubectl(['apply', '-n', ns, '--server-side', '--field-manager=airgap-k8s', '--force-conflicts', '--validate=strict', '--dry-run=server', '-f', '-'], {
        input: texts.join('---\n'),
        timeoutMs: 120_000,
      });
      expect(r.code, `${c.release.chart} ${c.release.version} for ${c.fixture}: ${r.stderr}`).toBe(0);
      applied += r.stdout.split('\n').filter((l) => /serverside-applied \(server dry run\)|unchanged/.test(l)).length;
    }
    expect(applied).toBe(docs.length);
  }, 180_000);
});

/** Lines of a chart's output (CRDs left out) that name a public registry host. */
function upstreamReferences(text: string): string[] {
  return withoutCrds(text)
    .split('\n')
    .filter((l) => UPSTREAM_HOSTS.test(l))
    .map((l) => l.trim());
}

describe('the checks bite (planted mistakes)', () => {
  const gpu = cases.find((c) => c.registry && c.release.release === 'gpu-operator')!;

  it('a disabled component left on its upstream repository is found, named by its image', async () => {
    const values = yaml.load(gpu.values) as Record<string, Record<string, unknown>>;
    delete values.dcgm!.repository;
    const t = await helmTemplate(helm, gpu.release, yaml.dump(values), gpu.kubeVersion);
    expect(t.code, t.stderr).toBe(0);
    expect(upstreamReferences(t.stdout)).toEqual(['repository: nvcr.io/nvidia/cloud-native']);
  });

  it('a field the real ClusterPolicy CRD does not have is refused by the apiserver, named', async () => {
    const t = await helmTemplate(helm, gpu.release, gpu.values, gpu.kubeVersion);
    const policy = docsOf(t.stdout).find((d) => d.kind === 'ClusterPolicy')!;
    (policy.spec as { devicePlugin: Record<string, unknown> }).devicePlugin.replicaz = 2;
    const r = await cp.kubectl(['apply', '--server-side', '--field-manager=airgap-k8s', '--validate=strict', '--dry-run=server', '-f', '-'], { input: yaml.dump(policy) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/devicePlugin\.replicaz/);
  });
});

/** A multi-document YAML text without its CustomResourceDefinition documents (installed for real beforehand). */
function withoutCrds(text: string): string {
  return text
    .split(/^---[ \t]*$/m)
    .filter((d) => !/^kind: CustomResourceDefinition[ \t]*$/m.test(d))
    .join('---\n');
}
