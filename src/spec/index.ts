/**
 * `airgap-k8s/spec`: the cluster spec. Parse and validate a spec (YAML text, JSON text or an object) with every
 * problem reported at once, each with its path; format those problems; derive the view generators read; the JSON
 * Schema editors and CI jobs check specs with. Pure: no I/O, no native module, no HTTP stack.
 *
 * ```ts
 * import { parseSpec, formatIssues } from 'airgap-k8s/spec';
 * const r = parseSpec(yamlText);
 * if (!r.ok) throw new Error(formatIssues(r.issues));
 * ```
 *
 * The JSON Schema is also shipped as a file: `airgap-k8s/schema/cluster.schema.json`.
 *
 * @module spec
 */
export { parseSpec, loadSpec, SpecError, MAX_SPEC_BYTES, MAX_DEPTH, type ParseResult } from './load.js';
export { Cluster, API_VERSION, ENCRYPTION_ALGORITHMS, DEFAULT_ENCRYPTION_ALGORITHM, type EncryptionAlgorithm, type ClusterInput, type ClusterSpec, type HostSpec, type ModelSpec, type OllamaModelSpec, type VllmModelSpec, type EnvironmentSpec } from './schema.js';
export { formatIssues, formatPath, type SpecIssue, type Severity, type PathSegment } from './issues.js';
export { deriveView, VRRP_MASTER_PRIORITY, type ClusterView, type HostView, type VrrpRole } from './derive.js';
export { clusterJsonSchema, clusterJsonSchemaText } from './json-schema.js';
export type { HostOs, PackageManager } from '../os/profiles.js';
