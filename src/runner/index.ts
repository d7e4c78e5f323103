/**
 * `airgap-k8s/runner` (experimental: its events and options may still change): runs a plan over executors.
 * Phases in order, hosts in parallel within a phase, each step skipped when its probe shows it done, retried with
 * backoff, remembered in a journal so an interrupted run resumes; every text it emits is redacted.
 *
 * Most callers want `runInstall` from `airgap-k8s/install`, which prepares the plan and the executors too.
 *
 * @experimental
 * @module runner
 */
export { runPlan, stepFingerprint, type RunOptions, type RunSummary, type RunEvent, type SkipReason } from './runner.js';
export { MemoryJournal, FileJournal, type Journal, type StepRecord, type StepStatus } from './journal.js';
export { Redactor, secretValues } from './redact.js';
export { criticalPath, type CriticalPath } from './critical-path.js';
