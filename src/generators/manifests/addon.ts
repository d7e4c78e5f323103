// An addon module renders what goes INTO the cluster (manifests under cluster/NN-*.yaml, Helm values under
// cluster/helm/) and declares every image it makes the cluster pull, so the offline bundle and images.txt can be
// derived from the same code that renders the references.
import type { ClusterView } from '../../spec/derive.js';
import type { Facts, GeneratedFile } from '../types.js';
import type { HelmRelease } from './helm.js';

export interface AddonModule {
  name: string;
  /** manifests and values files; empty when the addon is disabled */
  files(view: ClusterView, facts: Facts): GeneratedFile[];
  /** every image reference, exactly as it appears in the rendered files (registry-resolved) */
  images(view: ClusterView): string[];
  /** Helm releases this addon installs (chart from the bundle, values from files()) */
  helmReleases(view: ClusterView): HelmRelease[];
}
