// Public library surface: load a spec, derive inputs from secrets, render files.
export { parseSpec, loadSpec, SpecError, type ParseResult } from './spec/load.js';
export { Cluster, API_VERSION, type ClusterInput, type ClusterSpec } from './spec/schema.js';
export { formatIssues, type SpecIssue } from './spec/issues.js';
export { deriveView, type ClusterView, type HostView } from './spec/derive.js';
export { renderCluster, renderView, renderUnits, generators, outputPath } from './generators/index.js';
export { buildPlan, planFromUnits, formatPlan, type Plan, type Step } from './plan/index.js';
export { prepareInstall, runInstall, executorsFor, type Prepared, type ExecutorKind } from './install/index.js';
export type { RenderInputs, GeneratedFile, Generator, HostFile, ClusterFile, Unit, HostUnit, ClusterUnit } from './generators/types.js';
export type { Secrets } from './secrets/types.js';
export { writeRendered } from './output.js';
export { inputsFromSecrets, loadOrCreateSecrets, parseSecrets, caCertHash } from './secrets/secrets.js';
export { kubeadmImages, pauseImage, resolveImage } from './images.js';
export { bundleContents, parseManifest, manifestText, type BundleRequirement, type BundleManifest } from './bundle/index.js';
export {
  verifyBundle,
  packBundle,
  localBundle,
  uploadBundlePath,
  distributeBundle,
  formatBundleIssues,
  BundleVerificationError,
  type BundleIssue,
  type BundleSource,
  type VerifyResult,
} from './bundle/io/index.js';
