// Every manifest we render, for every fixture, accepted by a real kube-apiserver v1.34.3: server-side apply with
// dryRun=All and fieldValidation=Strict (kubectl v1.34.3 `apply --server-side --dry-run=server --validate=strict`),
// against the envtest-style control plane of ./controlplane.ts. Zero rejections.
//
// What later documents depend on is created for real first, as the install would create it, and strictly validated
// by that same real apply (PREREQUISITE_KINDS: Namespaces, CRDs, ServiceAccounts, quotas, ...), plus the namespaces
// of the Helm releases (helm --create-namespace). It is deleted again after each fixture (namespaces stay: a static
// check proves every fixture creates its own). Custom resources whose CRD a chart or Calico brings (ServiceMonitor,
// Installation, ...) are validated against the REAL CRDs of the charts and manifests we pin (./upstream.ts),
// installed for real first.
//
// A Deployment/DaemonSet/Job is admitted even when its pods would not be: PodSecurity enforcement, ResourceQuota,
// LimitRange, ServiceAccount and RuntimeClass admission act on Pods. So each workload's pod template is also sent as
// a Pod (dry run) into its namespace, with the namespace's real quota and limits in place.
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCluster, type GeneratedFile } from '../../src/generators/index.js';
import { helmReleases } from '../../src/generators/manifests/index.js';
import { deriveView } from '../../src/spec/derive.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';
import { installRealCrds } from './upstream.js';

const BUILTIN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
const FIELD_MANAGER = 'airgap-k8s';
/** Created for real before the dry runs: what admission of later objects looks up. */
const PREREQUISITE_KINDS = new Set(['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ResourceQuota', 'LimitRange', 'RuntimeClass', 'PriorityClass']);
/**
 * Server warnings that are accepted, each with its reason. Anything else a dry run prints as a warning fails.
 * - PodSecurity "restricted" in warn mode: the environment namespaces enforce baseline and only warn at restricted
 *   (src/generators/manifests/environments); whether a workload's pods are admitted under the ENFORCED level is
 *   checked separately, by sending its pod template as a Pod.
 */
const ACCEPTED_WARNINGS: { pattern: RegExp; reason: string }[] = [
  { pattern: /^Warning: would violate PodSecurity "restricted:v1\.\d+"/, reason: 'warn-only level; enforcement is checked with the Pod' },
];
/** Workload kinds and where their pod template is. */
const POD_TEMPLATE: Record<string, (spec: Record<string, any>) => Record<string, any> | undefined> = {
  Deployment: (s) => s.template,
  StatefulSet: (s) => s.template,
  DaemonSet: (s) => s.template,
  ReplicaSet: (s) => s.template,
  Job: (s) => s.template,
  CronJob: (s) => s.jobTemplate?.spec?.template,
};

interface Doc {
  file: string;
  index: number;
  obj: { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } };
}

const label = (d: Doc) => `${d.obj.kind} ${d.obj.metadata.namespace ? `${d.obj.metadata.namespace}/` : ''}${d.obj.metadata.name ?? '?'}`;

/** The manifests: cluster/*.yaml (not cluster/helm/ values files, not images.txt). */
function manifests(files: GeneratedFile[]): GeneratedFile[] {
  return files.filter((f) => f.kind === 'cluster' && /^cluster\/[^/]+\.ya?ml$/.test(f.path));
}

function docsOf(f: GeneratedFile): Doc[] {
  return yaml
    .loadAll(f.content)
    .map((obj, index) => ({ file: f.path, index, obj: obj as Doc['obj'] }))
    .filter((d) => d.obj !== null && d.obj !== undefined);
}

const fixtures = validFixtureNames().map((fixture) => {
  const spec = loadFixture(fixture);
  const view = deriveView(spec);
  const files = manifests(renderCluster(spec, testInputs()));
  const docs = files.flatMap(docsOf);
  return {
    fixture,
    files,
    docs,
    helmNamespaces: [...new Set(helmReleases(view).map((r) => r.namespace))],
  };
});

const strictApply = (dryRun: boolean) => [
  'apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--validate=strict', '--force-conflicts',
  ...(dryRun ? ['--dry-run=server'] : []), '-f', '-',
];
const stream = (docs: Doc[]) => docs.map((d) => yaml.dump(d.obj, { noRefs: true, lineWidth: -1 })).join('---\n');

/** Warning lines that are not accepted (see ACCEPTED_WARNINGS). */
const unexpectedWarnings = (stderr: string) =>
  stderr.split('\n').filter((l) => /warning/i.test(l) && !ACCEPTED_WARNINGS.some((w) => w.pattern.test(l)));

async function waitForDefaultServiceAccount(namespace: string): Promise<void> {
  const w = await cp.kubectl(['wait', '--for=create', '--timeout=60s', '-n', namespace, 'serviceaccount/default']);
  if (w.code !== 0) throw new Error(`no default ServiceAccount in namespace ${namespace}: ${w.stderr}`);
}

/** The Pod a workload's controller would create, to be admitted by the same admission chain. */
function podOf(d: Doc): Record<string, unknown> | undefined {
  const get = POD_TEMPLATE[d.obj.kind];
  const spec = (d.obj as unknown as { spec?: Record<string, any> }).spec;
  const template = get && spec ? get(spec) : undefined;
  if (!template) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${d.obj.metadata.name}-pod-check`, namespace: d.obj.metadata.namespace ?? 'default', labels: template.metadata?.labels },
    spec: template.spec,
  };
}

let cp: ControlPlane;

beforeAll(async () => {
  const bin = await toolchainBin();
  cp = await startControlPlane({ bin });
  // the real CRDs of every chart we install and of Calico's manifests, created for real, as the install does
  await installRealCrds(cp, `${bin}/helm`, validFixtureNames().flatMap((f) => helmReleases(deriveView(loadFixture(f)))));
}, TOOLCHAIN_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
});

describe('kube-apiserver v1.34.3 (server-side apply, dryRun=All, fieldValidation=Strict)', () => {
  describe('controls: the apparatus accepts a good object, rejects bad ones and persists nothing', () => {
    const good = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'control', namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'control' } },
        template: { metadata: { labels: { app: 'control' } }, spec: { containers: [{ name: 'c', image: 'registry.local:5000/k8s/pause:3.10.1' }] } },
      },
    };
    const apply = (obj: unknown) => cp.kubectl(strictApply(true), { input: yaml.dump(obj) });

    it('a valid Deployment is accepted and not created', async () => {
      const r = await apply(good);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/serverside-applied \(server dry run\)/);
      const g = await cp.kubectl(['get', 'deployment', 'control', '-n', 'default']);
      expect(g.code).not.toBe(0);
      expect(g.stderr).toMatch(/NotFound|not found/);
    });

    it('an unknown field is rejected (strict field validation)', async () => {
      const bad = structuredClone(good) as Record<string, unknown> & typeof good;
      (bad.spec.template.spec.containers[0] as Record<string, unknown>).imagePullPolicyy = 'Always';
      const r = await apply(bad);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/imagePullPolicyy/);
    });

    it('an invalid value is rejected (API validation)', async () => {
      const bad = structuredClone(good);
      bad.spec.replicas = -1;
      const r = await apply(bad);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/replicas/);
    });

    it("a Pod breaking its namespace's enforced PodSecurity level is rejected (the pod check has teeth)", async () => {
      const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'control-baseline', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } };
      const created = await cp.kubectl(strictApply(false), { input: yaml.dump(ns) });
      expect(created.code, created.stderr).toBe(0);
      await waitForDefaultServiceAccount('control-baseline');
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'privileged', namespace: 'control-baseline' },
        spec: { containers: [{ name: 'c', image: 'registry.local:5000/k8s/pause:3.10.1', securityContext: { privileged: true } }] },
      };
      const r = await apply(pod);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/violates PodSecurity "baseline/);
    });
  });

  describe.each(fixtures)('fixture $fixture', ({ fixture, files, docs, helmNamespaces }) => {
    it('every namespaced manifest targets a namespace we render, a Helm release creates, or a built-in one', () => {
      const ours = new Set(docs.filter((d) => d.obj.kind === 'Namespace').map((d) => d.obj.metadata.name!));
      const missing = docs
        .map((d) => d.obj.metadata.namespace)
        .filter((ns): ns is string => !!ns && !ours.has(ns) && !helmNamespaces.includes(ns) && !BUILTIN_NAMESPACES.has(ns));
      expect([...new Set(missing)]).toEqual([]);
    });

    const prerequisites = docs.filter((d) => PREREQUISITE_KINDS.has(d.obj.kind));

    beforeAll(async () => {
      const ours = new Set(prerequisites.filter((d) => d.obj.kind === 'Namespace').map((d) => d.obj.metadata.name));
      const helmOnly = helmNamespaces.filter((ns) => !ours.has(ns) && !BUILTIN_NAMESPACES.has(ns));
      // Namespaces and CRDs first (everything else may live in or be one of them), then the rest.
      const first = prerequisites.filter((d) => d.obj.kind === 'Namespace' || d.obj.kind === 'CustomResourceDefinition');
      const then = prerequisites.filter((d) => !first.includes(d));
      const batches = [
        [stream(first), ...helmOnly.map((ns) => yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }))],
        [stream(then)],
      ];
      for (const batch of batches) {
        const input = batch.filter((t) => t.trim()).join('---\n');
        if (!input) continue;
        const r = await cp.kubectl(strictApply(false), { input });
        if (r.code !== 0) throw new Error(`${fixture}: creating the prerequisites failed: ${r.command}\n${r.stdout}\n${r.stderr}`);
        const crds = first.filter((d) => d.obj.kind === 'CustomResourceDefinition').map((d) => `crd/${d.obj.metadata.name}`);
        if (batch === batches[0] && crds.length) {
          const w = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
          if (w.code !== 0) throw new Error(`${fixture}: CRDs not established: ${w.stderr}`);
        }
        // Pods without serviceAccountName use "default", which the controller-manager adds to a new namespace.
        if (batch === batches[0]) for (const ns of [...ours, ...helmOnly]) await waitForDefaultServiceAccount(ns!);
      }
    }, 120_000);

    afterAll(async () => {
      // The next fixture must not see this one's quotas, service accounts or CRDs. Namespaces stay (deleting them is
      // slow and every fixture is checked above to create its own).
      const rest = prerequisites.filter((d) => d.obj.kind !== 'Namespace');
      if (rest.length) await cp.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: stream(rest) });
      // ...but the CRDs must be gone before the next fixture applies the same ones: an apply to a CRD still being
      // deleted succeeds, and then the deletion ends (the next fixture's wait for Established found no CRD)
      const crds = rest.filter((d) => d.obj.kind === 'CustomResourceDefinition').map((d) => d.obj.metadata.name!);
      for (const deadline = Date.now() + 60_000; crds.length > 0; await new Promise((r) => setTimeout(r, 200))) {
        const left = await cp.kubectl(['get', 'crd', '--ignore-not-found', '-o', 'name', ...crds]);
        if (left.code === 0 && left.stdout.trim() === '') break;
        if (Date.now() > deadline) throw new Error(`${fixture}: CRDs still there 60 s after their deletion: ${left.stdout}${left.stderr}`);
      }
    }, 120_000);

    for (const f of files) {
      const validated = docsOf(f);
      if (validated.length === 0) continue;
      it(`${f.path}: all ${validated.length} document(s) accepted`, async () => {
        const r = await cp.kubectl(strictApply(true), { input: stream(validated) });
        expect(r.code, `${r.command} < ${f.path}\n${r.stderr}`).toBe(0);
        expect(unexpectedWarnings(r.stderr), 'server warnings').toEqual([]);
        const applied = r.stdout.split('\n').filter((l) => /serverside-applied \(server dry run\)|unchanged/.test(l));
        expect(applied.length, r.stdout).toBe(validated.length);
      });
      for (const d of validated) {
        const pod = podOf(d);
        if (!pod) continue;
        it(`${f.path}: the pods of ${label(d)} would be admitted (PodSecurity, quota, limits, service account)`, async () => {
          const r = await cp.kubectl(strictApply(true), { input: yaml.dump(pod, { noRefs: true, lineWidth: -1 }) });
          expect(r.code, `${r.command} < pod of ${label(d)} in ${f.path}\n${r.stderr}`).toBe(0);
          expect(unexpectedWarnings(r.stderr), 'server warnings').toEqual([]);
        });
      }
    }
  });
});
