// The service's small vocabulary, kept free of imports so the CLI can use it without loading SQLite.
/** Every status an install can have, in order. */
export const JOB_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** Where an install stands: pending, running, then succeeded, failed or cancelled (terminal). */
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ACTIVE: readonly JobStatus[] = ['pending', 'running'];
export const isTerminal = (s: JobStatus) => !ACTIVE.includes(s);

/** Over HTTP only dry-run, ssh and kind: `local` would run root commands on the API server's own machine. */
export const EXECUTOR_KINDS = ['dry-run', 'ssh', 'kind'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];
