/**
 * `airgap-k8s`: the small, stable root — parse a spec, make its secrets, render its files, plan its install. Each
 * layer has its own subpath with everything it offers: `airgap-k8s/spec`, `/secrets`, `/generators`, `/plan`,
 * `/executors` (and `/executors/conformance`), `/install`, `/runner`, `/api`, `/bundle`. Importing this root loads no
 * native module and no HTTP stack.
 *
 * ```ts
 * import { parseSpec, formatIssues, loadOrCreateSecrets, inputsFromSecrets, renderCluster } from 'airgap-k8s';
 * const r = parseSpec(yamlText);
 * if (!r.ok) throw new Error(formatIssues(r.issues));
 * const s = loadOrCreateSecrets('cluster.secrets.yaml', r.spec);
 * if (!s.ok) throw new Error(formatIssues(s.issues));
 * const files = renderCluster(r.spec, inputsFromSecrets(s.secrets));
 * ```
 *
 * @module airgap-k8s
 */
export { parseSpec, type ParseResult } from './spec/load.js';
export { API_VERSION, type ClusterInput, type ClusterSpec } from './spec/schema.js';
export { formatIssues, type SpecIssue } from './spec/issues.js';
export { renderCluster, type RenderInputs, type GeneratedFile } from './generators/index.js';
export type { HostFile, ClusterFile } from './generators/types.js';
export { buildPlan, formatPlan, type Plan } from './plan/index.js';
export { loadOrCreateSecrets, inputsFromSecrets } from './secrets/secrets.js';
export type { Secrets } from './secrets/types.js';
