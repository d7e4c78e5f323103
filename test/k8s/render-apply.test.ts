// Check 4 of issue 6: what a user does. `airgap-k8s render SPEC -o DIR --secrets FILE` (the real CLI, run as a
// process), then kubectl v1.34.3 `apply --server-side --dry-run=server -f DIR/cluster` against a real v1.34.3
// control plane. `-f DIR` is not recursive, so the Helm values files under DIR/cluster/helm/ are not read (they are
// not manifests); the top-level NN-*.yaml files are.
//
// What is created for real first, as the install would have it before this apply:
// - Namespaces: a server-side dry run persists nothing, so objects in a Namespace rendered in the same apply would be
//   refused (NotFound). The rendered Namespaces are applied for real first (`kubectl apply --server-side -f -` of the
//   Namespace documents only), plus the namespaces the Helm releases create (`helm install --create-namespace`).
// - The REAL CRDs of the charts and Calico manifests we pin (./upstream.ts: ServiceMonitor from kube-prometheus-stack,
//   Installation/APIServer from the tigera-operator, Calico's own), so our custom resources meet the upstream schemas.
// The render is given an offline bundle holding Calico's REAL calico.yaml v3.27.0, so cluster/10-calico.yaml is the
// transform of the real manifest, checked here by the same apply and below for what the transform must set.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveView } from '../../src/spec/derive.js';
import { helmReleases } from '../../src/generators/manifests/index.js';
import { FIXTURES, loadFixture, ROOT, validFixtureNames } from '../support/fixtures.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { run, toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';
import { installRealCrds, UPSTREAM } from './upstream.js';

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
const bundle = join(work, 'bundle');

beforeAll(async () => {
  const bin = await toolchainBin();
  kubectlBin = join(bin, 'kubectl');
  cp = await startControlPlane({ bin });
  await installRealCrds(cp, join(bin, 'helm'), validFixtureNames().flatMap((f) => helmReleases(deriveView(loadFixture(f)))));
  // the offline bundle as far as the render reads it: Calico's real manifest
  mkdirSync(join(bundle, 'manifests'), { recursive: true });
  copyFileSync(join(UPSTREAM, 'calico-v3.27.0.yaml'), join(bundle, 'manifests', 'calico-v3.27.0.yaml'));
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
      const r = await cli(['render', join(FIXTURES, `valid-${fixture}.yaml`), '-o', out, '--secrets', join(work, `${fixture}.secrets.yaml`), '--bundle', bundle]);
      expect(r.code, r.stderr).toBe(0);
      const top = readdirSync(cluster);
      expect(top.filter((f) => /^\d\d-.*\.yaml$/.test(f)).length).toBeGreaterThan(0);
      expect(top.filter((f) => f.endsWith('.needs-upstream.txt'))).toEqual([]);
    });

    const calico = loadFixture(fixture).spec.addons.cni.calico;
    if (calico.mode === 'manifest') {
      it(`cluster/10-calico.yaml, made from the REAL calico.yaml: calico-node has the pod CIDR, ${calico.encapsulation} and the autodetection method`, () => {
        const view = deriveView(loadFixture(fixture));
        const node = (yaml.loadAll(readFileSync(join(cluster, '10-calico.yaml'), 'utf8')) as { kind?: string; metadata?: { name?: string }; spec?: any }[]).find(
          (d) => d?.kind === 'DaemonSet' && d.metadata?.name === 'calico-node',
        );
        const env = Object.fromEntries((node!.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
        expect(env.CALICO_IPV4POOL_CIDR).toBe(view.cluster.spec.network.podSubnet);
        expect([env.CALICO_IPV4POOL_IPIP, env.CALICO_IPV4POOL_VXLAN]).toEqual(calico.encapsulation === 'IPIP' ? ['Always', 'Never'] : calico.encapsulation === 'VXLAN' ? ['Never', 'Always'] : ['Never', 'Never']);
        expect(env.IP_AUTODETECTION_METHOD).toMatch(/^(interface|can-reach|first-found|kubernetes-internal-ip|cidr)/);
      });
    }

    it('every kind the manifests use is served once their namespaces and the real CRDs exist, and the dry run exits 0', async () => {
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
