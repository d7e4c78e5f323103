/**
 * `airgap-k8s/executors`: run commands on a host. One small interface, {@link Executor} (run an argv with optional
 * stdin, streamed output, a timeout and an abort signal); file and service operations built once on it (atomic
 * writes, uploads, hashes, systemctl); the built-in executors: dry-run, local, ssh (optional dependency ssh2) and
 * kind (docker exec into node containers; optional dependency testcontainers). Every executor passes the same
 * conformance suite, exported as `airgap-k8s/executors/conformance` so that your own executor can prove itself.
 *
 * @module executors
 */
export * from './executor.js';
export * from './ops.js';
export { DryRunExecutor, type DryRunOptions, type DryRunRecord, type DryRunResponse } from './dry-run/dry-run.js';
export { LocalExecutor, type LocalExecutorOptions } from './local/local.js';
export { SshExecutor, sshExecutorForHost, expandHome, type SshExecutorOptions } from './ssh/ssh.js';
export { fingerprintSha256, parseKnownHosts, checkHostKey, type HostKeyPolicy, type HostKeyVerdict, type KnownHostEntry } from './ssh/host-keys.js';
export { KindExecutor, kindExecutorForHost, NODE_CLUSTER_LABEL, NODE_HOST_LABEL, type KindExecutorOptions, type NodeSelector } from './kind/kind.js';
