// Every phase a plan can have, in the order a plan runs them: the install's (generators say which phase their files
// belong to; the planner runs them in this order, src/plan), then the day-two operations' (src/day2). The runner
// reports by them.
/** Every phase a plan can have, in the order plans run them: the install's, then the day-two operations'. */
export const PHASES = [
  'preflight',
  'distribute',
  'prepare-os',
  'container-runtime',
  'load-balancer',
  'first-control-plane',
  'control-planes',
  'workers',
  /** hosts gone from the spec: drained, reset, deleted from the cluster (and from etcd), one at a time */
  'remove-nodes',
  'cni',
  'addons',
  'environments',
  'models',
  'apps',
  'verify',
  // day two (src/day2): each operation's plan uses its own phases
  'etcd-snapshot',
  'etcd-restore',
  'certs-renew',
  'upgrade-first-control-plane',
  'upgrade-control-planes',
  'upgrade-workers',
  'reset-workers',
  'reset-control-planes',
] as const;
/** The name of a phase. */
export type PhaseName = (typeof PHASES)[number];

/** Phases whose steps run on the hosts, with the files generators place there. */
export type HostPhase = Extract<PhaseName, 'prepare-os' | 'container-runtime' | 'load-balancer' | 'first-control-plane' | 'control-planes' | 'workers'>;
/** Phases whose steps act on the cluster through its API (run on the first control plane). */
export type ClusterPhase = Extract<PhaseName, 'cni' | 'addons' | 'environments' | 'models' | 'apps' | 'verify'>;
