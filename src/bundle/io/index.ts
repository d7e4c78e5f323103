/**
 * `airgap-k8s/bundle/io` (experimental): the offline bundle, the I/O part: a bundle directory read (scan, inspect),
 * checked against a spec (verify), packed into one tar, and delivered to hosts over an executor (distribute).
 *
 * @experimental
 * @module bundle/io
 */
export { inspectFile, parseRpmHeader, parseDebHeader, archiveImages, type Inspected, type PackageInfo, type InspectOptions } from './inspect.js';
export { listBundleFiles, scanBundle, type BundleFile, type Progress } from './scan.js';
export { verifyBundle, checkRequirements, checkManifest, formatBundleIssues, BundleVerificationError, type BundleIssue, type BundleIssueCode, type VerifyResult } from './verify.js';
export { packBundle, type PackResult } from './pack.js';
export {
  uploadBundlePath,
  uploadFileResumable,
  bundlePathPresent,
  distributeBundle,
  entriesUnder,
  type UploadProgress,
  type UploadReport,
  type FileReport,
  type UploadOptions,
  type RemoteState,
  type DistributeTarget,
} from './distribute.js';
export { localBundle, verifiedBundle, type BundleSource } from './source.js';
