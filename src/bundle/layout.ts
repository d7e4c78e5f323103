// The offline bundle's directory layout. One place for every path, so `bundle list`, `bundle verify`, `bundle pack`,
// the planner (uploads, installs, imports) and the hosts agree on where each artifact lives.
//
//   bundle.yaml                                  the manifest: kind, name, version, path, size, sha256 per artifact
//   packages/<os>/<group>/*.rpm | *.deb          OS packages with their dependencies, one directory per OS family and
//                                                group (./packages.ts): installed with one dnf/dpkg call each
//   images/<sanitized image reference>.tar       one image archive per image (`docker save` or `ctr images export`),
//                                                holding exactly the reference it is named after
//   charts/<chart>-<version>.tgz                 Helm charts at their pinned versions (`helm pull`)
//   manifests/calico-<version>.yaml              upstream manifests we transform (Calico's calico.yaml, manifest mode)
//   models/...                                   model files (Ollama GGUF files named by spec.models[].modelFile)
//   bin/helm-<version>                           the helm binary (linux-amd64) for the first control plane
//
// The same tree is unpacked at spec.offline.bundleDir on every host (each host receives only what it needs).
import { osProfile, PACKAGE_MANAGERS, type HostOs, type PackageGroup } from '../os/profiles.js';

/** The bundle's manifest, at its top: kind, name, version, path, size and sha256 of every artifact. */
export const MANIFEST_FILE = 'bundle.yaml';
/** Image archives, one per image reference, named by {@link imageArchivePath}. */
export const IMAGES_DIR = 'images';
/** Helm charts at their pinned versions: `charts/<chart>-<version>.tgz`. */
export const CHARTS_DIR = 'charts';
/** Upstream manifests the generators transform (Calico's calico.yaml): `manifests/calico-<version>.yaml`. */
export const MANIFESTS_DIR = 'manifests';
/** Model files (Ollama GGUF files named by `spec.models[].modelFile`). */
export const MODELS_DIR = 'models';
/** Binaries for the hosts: `bin/helm-<version>`. */
export const BIN_DIR = 'bin';
/** OS packages with their dependencies: `packages/<os>/<group>/*.rpm` or `*.deb`. */
export const PACKAGES_DIR = 'packages';

/** helm for the first control plane: built against the Kubernetes 1.34 client libraries. */
export const HELM_VERSION = 'v3.19.0';

/** The directory of one OS's package group: `packages/<os>/<group>`. */
export function packagesPath(os: HostOs, group: PackageGroup): string {
  return `${PACKAGES_DIR}/${os}/${group}`;
}

/**
 * The archive file name of an image reference: `/`, `:` and `@` become `_`
 * (registry.k8s.io/pause:3.10.1 -> images/registry.k8s.io_pause_3.10.1.tar). Two references could in theory map
 * to one name; bundleContents refuses a spec where they do.
 */
export function imageArchivePath(ref: string): string {
  return `${IMAGES_DIR}/${ref.replace(/[/:@]/g, '_')}.tar`;
}

/** The bundle path of the helm binary: `bin/helm-<version>`. */
export function helmBinaryPath(version = HELM_VERSION): string {
  return `${BIN_DIR}/helm-${version}`;
}

/** File extension of the packages of an OS family. */
export function packageExtension(os: HostOs): '.rpm' | '.deb' {
  return PACKAGE_MANAGERS[osProfile(os).packages.manager].extension;
}

/** A bundle-relative path is plain: no leading '/', no '.' or '..' segments, no empty segments. */
export function isBundlePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.endsWith('/')) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..') && !/[\0\n\r]/.test(p);
}

/** True when `path` is `dir` itself or inside it. */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}
