export { buildPlan, planFromFiles, phaseForHostPath, phaseForOrder, KUBECONFIG } from './build.js';
export { formatPlan } from './format.js';
export * from './types.js';
