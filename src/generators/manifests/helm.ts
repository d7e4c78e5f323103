// Helm releases the cluster needs: the chart comes from the offline bundle, the values file is rendered by us.
// Each addon module returns its releases from `helmReleases(view)`; the planner installs them in `order`.

export interface HelmRelease {
  /** release name, also the values file name: cluster/helm/<release>.values.yaml */
  release: string;
  namespace: string;
  /** chart name as in its Chart.yaml */
  chart: string;
  version: string;
  /** path of the chart .tgz inside the offline bundle */
  bundlePath: string;
  /** apply order relative to cluster/NN-*.yaml manifests (same numbering) */
  order: number;
}

export function valuesPath(release: string): string {
  return `cluster/helm/${release}.values.yaml`;
}
