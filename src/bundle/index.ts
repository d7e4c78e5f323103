/**
 * `airgap-k8s/bundle` (experimental): the offline bundle, the pure part: its layout, the manifest (bundle.yaml), what
 * a spec needs (packages, images, charts, files), as data. No filesystem, no processes. Reading, verifying, packing
 * and delivering a bundle directory is `airgap-k8s/bundle/io`.
 *
 * @experimental
 * @module bundle
 */
export * from './layout.js';
export * from './manifest.js';
export { bundleContents, bundleNotes, hostUploads, registryPushes, upstreamImages, type BundleRequirement } from './contents.js';
export { groupPackages, hostPackageGroups, versionMatches, type PackageGroup, type PackageRef } from './packages.js';
