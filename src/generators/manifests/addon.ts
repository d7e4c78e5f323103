// An addon module renders what goes INTO the cluster as cluster units (manifests under cluster/NN-*.yaml, Helm
// releases with their values under cluster/helm/), each declaring its phase and the units it comes after, and
// declares every image it makes the cluster pull, so the offline bundle and images.txt can be derived from the same
// code that renders the references. The NN in a file name is for people applying cluster/ by hand in order; the
// planner orders by the declared `after`.
import type { ClusterView } from '../../spec/derive.js';
import type { ClusterPhase } from '../../phases.js';
import type { ClusterFile, ClusterUnit, RenderInputs, JobRef } from '../types.js';
import { valuesPath, type HelmRelease } from './helm.js';

export interface AddonModule {
  name: string;
  /** what it installs, in the order it is applied (empty when the addon is disabled) */
  units(view: ClusterView, inputs: RenderInputs): ClusterUnit[];
  /** every image reference, exactly as it appears in the rendered files (registry-resolved) */
  images(view: ClusterView): string[];
  /** Helm releases this addon installs (chart from the bundle, values rendered in units()) */
  helmReleases(view: ClusterView): HelmRelease[];
}

/** A manifest applied with server-side apply; `waitFor` Jobs it starts complete before anything later runs. */
export function applyUnit(name: string, phase: ClusterPhase, file: ClusterFile, o: { after?: string[]; waitFor?: JobRef[] } = {}): ClusterUnit {
  return { kind: 'cluster', name, phase, after: o.after ?? [], action: { kind: 'apply', path: file.path }, files: [file], ...(o.waitFor ? { waitFor: o.waitFor } : {}) };
}

/** A Helm release installed from the bundle's chart with its rendered values file; the unit is named after the release. */
export function helmUnit(phase: ClusterPhase, release: HelmRelease, values: ClusterFile, after: string[] = []): ClusterUnit {
  if (values.path !== valuesPath(release.release)) throw new Error(`helm release ${release.release}: values at ${values.path}, expected ${valuesPath(release.release)}`);
  return { kind: 'cluster', name: release.release, phase, after, action: { kind: 'helm', release }, files: [values] };
}

/** The Jobs among a manifest's objects, as references to wait for. */
export function jobsIn(docs: readonly object[]): JobRef[] {
  return (docs as { kind?: string; metadata?: { name?: string; namespace?: string } }[])
    .filter((d) => d.kind === 'Job' && d.metadata?.name)
    .map((d) => ({ namespace: d.metadata?.namespace ?? 'default', name: d.metadata!.name! }));
}

/** An addon's rendered files (tests, tools that want only the files). */
export function addonFiles(addon: AddonModule, view: ClusterView, inputs: RenderInputs): ClusterFile[] {
  return addon.units(view, inputs).flatMap((u) => u.files);
}
