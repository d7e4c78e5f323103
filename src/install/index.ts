/**
 * `airgap-k8s/install` (experimental): the one install pipeline the CLI and the REST service both use. Spec, secrets
 * and what the render reads from the offline bundle become inputs, files and a plan (`prepareInstall`), which
 * `runInstall` runs over a pool of executors (`executorsFor(kind)`, or your own).
 *
 * @experimental
 * @module install
 */
export { prepareInstall, runInstall, runPlanOn, type PlanTarget, assertStartable, checkStartable, bundleDirOf, destructiveSteps, MissingInputsError, UnconfirmedError, type InstallRequest, type Prepared, type RunInstallOptions } from './pipeline.js';
export { executorsFor, DelayedExecutor, EXECUTOR_KINDS, type ExecutorKind, type ExecutorPool, type ExecutorSettings } from './executors.js';
export type { Applied, ChangePlan } from '../day2/change.js';
export type { PlanDiff, StepChange } from '../day2/diff.js';
export { upstreamInputs, readUpstream, missingInputs, type UpstreamInput } from './inputs.js';
