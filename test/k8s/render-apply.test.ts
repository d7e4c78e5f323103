// Check 4 of issue 6: what a user does. `airgap-k8s render SPEC -o DIR --secrets FILE` (the real CLI, run as a
// process), then kubectl v1.34.3 `apply --server-side --dry-run=server -f DIR/cluster` against a real v1.34.3
// control plane. `-f DIR` is not recursive, so the Helm values files under DIR/cluster/helm/ are not read (they are
// not manifests); the top-level NN-*.yaml files are.
//
// What is created for real first, as the install would have it before this apply:
// - Namespaces: a server-side dry run persists nothing, so objects in a Namespace rendered in the same apply would be
//   refused (NotFound). The rendered Namespaces are applied for real first (`kubectl apply --server-side -f -` of the
//   Namespace documents only), plus the namespaces the Helm releases create (`helm install --create-namespace`).
// - STAND-IN CRDs for the kinds whose CRDs come only with a chart (ServiceMonitor from kube-prometheus-stack,
//   Installation/APIServer from the tigera-operator). They are written here (apiextensions v1, an open
//   x-kubernetes-preserve-unknown-fields schema): they prove the apiserver routes these kinds, NOT that our fields
//   match the upstream schemas.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveView } from '../../src/spec/derive.js';
import { helmReleases } from '../../src/generators/manifests/index.js';
import { FIXTURES, loadFixture, ROOT, validFixtureNames } from '../support/fixtures.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { run, toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';

/** Stand-in CRDs (not the upstream definitions): group -> kinds with their scope. */
const STAND_IN_CRDS: { group: string; version: string; kind: string; plural: string; scope: 'Namespaced' | 'Cluster' }[] = [
  { group: 'monitoring.coreos.com', version: 'v1', kind: 'ServiceMonitor', plural: 'servicemonitors', scope: 'Namespaced' },
  { group: 'operator.tigera.io', version: 'v1', kind: 'Installation', plural: 'installations', scope: 'Cluster' },
  { group: 'operator.tigera.io', version: 'v1', kind: 'APIServer', plural: 'apiservers', scope: 'Cluster' },
];

function standInCrd(c: (typeof STAND_IN_CRDS)[number]) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${c.plural}.${c.group}`, labels: { 'airgap-k8s.io/test-stand-in': 'true' } },
    spec: {
      group: c.group,
      scope: c.scope,
      names: { kind: c.kind, plural: c.plural, singular: c.kind.toLowerCase(), listKind: `${c.kind}List` },
      versions: [
        {
          name: c.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

const BUILTIN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** The real CLI as a process: tsx runs src/cli/main.ts exactly as `npx tsx src/cli/main.ts` does. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

let cp: ControlPlane;
let kubectlBin: string;
const work = mkdtempSync(join(tmpdir(), 'airgap-k8s-render-apply-'));

beforeAll(async () => {
  const bin = await toolchainBin();
  kubectlBin = join(bin, 'kubectl');
  cp = await startControlPlane({ bin });
  const crds = STAND_IN_CRDS.map(standInCrd);
  const r = await cp.kubectl(['apply', '--server-side', '-f', '-'], { input: crds.map((c) => yaml.dump(c)).join('---\n') });
  if (r.code !== 0) throw new Error(`stand-in CRDs: ${r.stderr}`);
  const w = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c.metadata.name}`)]);
  if (w.code !== 0) throw new Error(`stand-in CRDs not established: ${w.stderr}`);
}, TOOLCHAIN_TIMEOUT_MS);

afterAll(async () => {
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('airgap-k8s render, then kubectl v1.34.3 apply --server-side --dry-run=server -f DIR/cluster', () => {
  describe.each(validFixtureNames())('fixture %s', (fixture) => {
    const out = join(work, fixture);
    const cluster = join(out, 'cluster');

    it('the CLI renders it (exit 0, DIR/cluster/NN-*.yaml and helm/ values)', async () => {
      const r = await cli(['render', join(FIXTURES, `valid-${fixture}.yaml`), '-o', out, '--secrets', join(work, `${fixture}.secrets.yaml`)]);
      expect(r.code, r.stderr).toBe(0);
      const top = readdirSync(cluster);
      expect(top.filter((f) => /^\d\d-.*\.yaml$/.test(f)).length).toBeGreaterThan(0);
    });

    it('every kind the manifests use is served once their namespaces and the stand-in CRDs exist, and the dry run exits 0', async () => {
      const top = readdirSync(cluster).filter((f) => /\.ya?ml$/.test(f));
      const docs = top.flatMap((f) =>
        yaml.loadAll(readFileSync(join(cluster, f), 'utf8')).filter((d): d is { kind: string; metadata: { name: string } } => !!d),
      );
      // The Namespaces, for real (see the header), and the Helm releases' namespaces.
      const rendered = docs.filter((d) => d.kind === 'Namespace');
      const helmNs = [...new Set(helmReleases(deriveView(loadFixture(fixture))).map((h) => h.namespace))].filter(
        (ns) => !BUILTIN_NAMESPACES.has(ns) && !rendered.some((d) => d.metadata.name === ns),
      );
      const nsInput = [...rendered, ...helmNs.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))]
        .map((d) => yaml.dump(d))
        .join('---\n');
      if (nsInput) {
        const ns = await cp.kubectl(['apply', '--server-side', '--field-manager=airgap-k8s', '-f', '-'], { input: nsInput });
        expect(ns.code, ns.stderr).toBe(0);
      }

      // Exactly what the user runs (kubectl from the toolchain, the admin kubeconfig, the directory).
      const started = Date.now();
      const r = await run(kubectlBin, ['--kubeconfig', cp.kubeconfig, 'apply', '--server-side', '--dry-run=server', '-f', cluster], {
        timeoutMs: 110_000,
      });
      const ms = Date.now() - started;
      expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
      const applied = r.stdout.split('\n').filter((l) => /\(server dry run\)/.test(l));
      expect(applied.length, r.stdout).toBe(docs.length);
      console.log(`${fixture}: ${applied.length} objects from ${top.length} files accepted in ${ms} ms`);
    });
  });
});
