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
  /**
   * Apply order on the cluster/NN-*.yaml scale: the planner sorts manifests and releases by number, and at an equal
   * number applies the manifest file first, then the release. So a Secret a chart consumes goes in NN, the chart
   * gets order NN (or NN+1), and resources needing the chart's CRDs (ServiceMonitor) go in a higher NN.
   */
  order: number;
}

export function valuesPath(release: string): string {
  return `cluster/helm/${release}.values.yaml`;
}
