// Executors: run commands on a host. One interface (./executor.ts), file and service operations built once on it
// (./ops.ts), and one folder per way of reaching a host. All pass the same conformance suite (test/executors/).
export * from './executor.js';
export * from './ops.js';
export { DryRunExecutor, type DryRunOptions, type DryRunRecord, type DryRunResponse } from './dry-run/dry-run.js';
export { LocalExecutor, type LocalExecutorOptions } from './local/local.js';
export { SshExecutor, sshExecutorForHost, expandHome, type SshExecutorOptions } from './ssh/ssh.js';
export { fingerprintSha256, parseKnownHosts, checkHostKey } from './ssh/host-keys.js';
export { KindExecutor, kindExecutorForHost, NODE_CLUSTER_LABEL, NODE_HOST_LABEL, type KindExecutorOptions, type NodeSelector } from './kind/kind.js';
