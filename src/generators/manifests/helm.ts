// Helm releases the cluster needs: the chart comes from the offline bundle, the values file is rendered by us.
// Each addon module returns its releases from `helmReleases(view)` (the bundle's charts) and installs each through a
// helm unit (./addon.ts) that says where in the install it goes.

/**
 * A Helm release the cluster installs: its chart from the offline bundle, its namespace and the values file we render.
 */
export interface HelmRelease {
  /** release name, also the values file name: cluster/helm/<release>.values.yaml */
  release: string;
  namespace: string;
  /** chart name as in its Chart.yaml */
  chart: string;
  version: string;
  /** path of the chart .tgz inside the offline bundle */
  bundlePath: string;
}

export function valuesPath(release: string): string {
  return `cluster/helm/${release}.values.yaml`;
}
