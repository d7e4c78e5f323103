// The offline bundle, the pure part: its layout, the manifest (bundle.yaml), what a spec needs (packages, images,
// charts, files). No filesystem, no processes: the plan and the generators' callers use it as data. Reading,
// verifying, packing and delivering a bundle directory is ./io/.
export * from './layout.js';
export * from './manifest.js';
export { bundleContents, bundleNotes, hostUploads, registryPushes, upstreamImages, type BundleRequirement } from './contents.js';
export { groupPackages, hostPackageGroups, versionMatches, type PackageGroup, type PackageRef } from './packages.js';
