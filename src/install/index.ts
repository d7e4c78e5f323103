// The install pipeline (./pipeline.ts) and the executor pools it runs on (./executors.ts).
export { prepareInstall, runInstall, runPlanOn, type PlanTarget, assertStartable, checkStartable, bundleDirOf, destructiveSteps, MissingInputsError, UnconfirmedError, type InstallRequest, type Prepared, type RunInstallOptions } from './pipeline.js';
export { executorsFor, DelayedExecutor, EXECUTOR_KINDS, type ExecutorKind, type ExecutorPool, type ExecutorSettings } from './executors.js';
export { upstreamInputs, readUpstream, missingInputs, type UpstreamInput } from './inputs.js';
