export { buildPlan, planFor, planFromUnits, orderClusterUnits, KUBECONFIG } from './build.js';
export { formatPlan } from './format.js';
export * from './types.js';
