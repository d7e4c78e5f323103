// The real upstream inputs (../shared/upstream, see its README; AIRGAP_K8S_UPSTREAM overrides): the Helm charts at
// the versions we pin and Calico's manifests, read at test time and never copied into the repository. helm template
// of a chart with our values file, and the real CustomResourceDefinitions they bring.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { HelmRelease } from '../../src/generators/manifests/helm.js';
import { ROOT } from '../support/fixtures.js';
import { run, type RunResult } from './toolchain.js';
import type { ControlPlane } from './controlplane.js';

export const UPSTREAM = process.env.AIRGAP_K8S_UPSTREAM ?? join(ROOT, '..', 'shared', 'upstream');
export const CALICO_MANIFESTS = ['calico-v3.27.0.yaml', 'tigera-operator-v3.27.0.yaml'].map((f) => join(UPSTREAM, f));

export type K8sObject = { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string }; [k: string]: unknown };

export function docsOf(text: string): K8sObject[] {
  return (yaml.loadAll(text) as (K8sObject | null)[]).filter((d): d is K8sObject => !!d && typeof d === 'object' && 'kind' in d);
}

/** The chart directory of a release in the upstream tree (the bundle's charts/<chart>-<version>.tgz, unpacked). */
export function chartDir(r: HelmRelease): string {
  return join(UPSTREAM, r.bundlePath.replace(/\.tgz$/, ''));
}

interface Dependency {
  name: string;
  condition?: string;
}

/**
 * A chart whose dependency charts are all present as is; otherwise a copy without the missing ones, and the values
 * that switch them off (their `condition`s) so the parent's templates do not reach into them. Says what is missing.
 */
export function renderableChart(dir: string): { dir: string; off: string[]; missing: string[] } {
  const chart = yaml.load(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as { dependencies?: Dependency[] };
  const missing = (chart.dependencies ?? []).filter((d) => !existsSync(join(dir, 'charts', d.name)));
  if (missing.length === 0) return { dir, off: [], missing: [] };
  const copy = join(mkdtempSync(join(tmpdir(), 'chart-')), 'chart');
  cpSync(dir, copy, { recursive: true });
  writeFileSync(join(copy, 'Chart.yaml'), yaml.dump({ ...chart, dependencies: chart.dependencies!.filter((d) => !missing.includes(d)) }));
  return { dir: copy, off: missing.flatMap((d) => (d.condition ? d.condition.split(',').map((c) => `${c.trim()}=false`) : [])), missing: missing.map((d) => d.name) };
}

/** helm template of a release with a values file (its text), as the install runs it, CRDs included. */
export async function helmTemplate(helm: string, r: HelmRelease, valuesText: string, kubeVersion: string): Promise<RunResult & { missing: string[] }> {
  const chart = renderableChart(chartDir(r));
  const values = join(mkdtempSync(join(tmpdir(), 'values-')), 'values.yaml');
  writeFileSync(values, valuesText);
  const res = await run(helm, ['template', r.release, chart.dir, '-n', r.namespace, '-f', values, '--kube-version', kubeVersion, '--include-crds', ...chart.off.flatMap((s) => ['--set', s])], {
    timeoutMs: 120_000,
  });
  return { ...res, missing: chart.missing };
}

/** Every real CRD the charts and Calico's manifests bring, by name (the first seen wins). */
export async function realCrds(helm: string, releases: HelmRelease[]): Promise<Map<string, K8sObject>> {
  const crds = new Map<string, K8sObject>();
  const add = (text: string) => {
    for (const d of docsOf(text)) if (d.kind === 'CustomResourceDefinition' && !crds.has(d.metadata.name!)) crds.set(d.metadata.name!, d);
  };
  for (const f of CALICO_MANIFESTS) add(readFileSync(f, 'utf8'));
  const seen = new Set<string>();
  for (const r of releases) {
    if (seen.has(r.bundlePath)) continue;
    seen.add(r.bundlePath);
    const t = await helmTemplate(helm, r, '{}\n', 'v1.34.3');
    if (t.code !== 0) throw new Error(`helm template ${r.release} (default values) for its CRDs: ${t.stderr}`);
    add(t.stdout);
  }
  return crds;
}

/** Creates the real CRDs for real on a control plane (as the charts' and Calico's installs do) and waits for them. */
export async function installRealCrds(cp: ControlPlane, helm: string, releases: HelmRelease[]): Promise<number> {
  const crds = await realCrds(helm, releases);
  // kubectl's own field manager: a later `kubectl apply --server-side -f DIR` of a manifest that carries the same CRDs
  // (Calico's calico.yaml) owns them already, as it would on a cluster where it created them
  const r = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: [...crds.values()].map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n'),
    timeoutMs: 180_000,
  });
  if (r.code !== 0) throw new Error(`installing ${crds.size} real CRDs failed: ${r.stderr}`);
  const w = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=120s', ...[...crds.keys()].map((n) => `crd/${n}`)], { timeoutMs: 150_000 });
  if (w.code !== 0) throw new Error(`CRDs not established: ${w.stderr}`);
  return crds.size;
}
