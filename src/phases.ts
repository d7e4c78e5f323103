// The install's phases, in order. Generators say which phase their files belong to; the planner runs them in this
// order (src/plan); the runner reports by them.
export const PHASES = [
  'preflight',
  'distribute',
  'prepare-os',
  'container-runtime',
  'load-balancer',
  'first-control-plane',
  'control-planes',
  'workers',
  'cni',
  'addons',
  'environments',
  'models',
  'apps',
  'verify',
] as const;
export type PhaseName = (typeof PHASES)[number];

/** Phases whose steps run on the hosts, with the files generators place there. */
export type HostPhase = Extract<PhaseName, 'prepare-os' | 'container-runtime' | 'load-balancer' | 'first-control-plane' | 'control-planes' | 'workers'>;
/** Phases whose steps act on the cluster through its API (run on the first control plane). */
export type ClusterPhase = Extract<PhaseName, 'cni' | 'addons' | 'environments' | 'models' | 'apps' | 'verify'>;
