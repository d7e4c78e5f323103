/**
 * `airgap-k8s/plan`: the install plan as data. `buildPlan(spec, inputs)` renders the spec and orders its units into phases
 * of steps per host (each with the probe that shows it done); `formatPlan` prints it. Pure: it runs nothing.
 *
 * ```ts
 * import { buildPlan, formatPlan } from 'airgap-k8s/plan';
 * console.log(formatPlan(buildPlan(spec, inputs)));
 * ```
 *
 * @module plan
 */
export { buildPlan, planFor, planFromUnits, orderClusterUnits, KUBECONFIG } from './build.js';
export { formatPlan } from './format.js';
export * from './types.js';
