// The offline bundle: layout, manifest (bundle.yaml), what a spec needs (list), verification, packing and delivery.
export * from './layout.js';
export * from './manifest.js';
export { bundleContents, bundleNotes, hostUploads, registryPushes, upstreamImages, type BundleRequirement } from './contents.js';
export { inspectFile, parseRpmHeader, parseDebHeader, archiveImages, type Inspected, type PackageInfo } from './inspect.js';
export { listBundleFiles, scanBundle, type BundleFile, type Progress } from './scan.js';
export { verifyBundle, checkRequirements, checkManifest, formatBundleIssues, BundleVerificationError, type BundleIssue, type VerifyResult } from './verify.js';
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
} from './distribute.js';
export { localBundle, verifiedBundle, withoutBundleSteps, type BundleSource } from './source.js';
