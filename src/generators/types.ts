// What every generator takes and returns. Generators are pure: (view, facts) -> files. No clock, randomness,
// environment, filesystem or network; secrets arrive in `facts`.
import type { ClusterView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';

/** Texts read from the offline bundle by the (impure) caller and transformed by pure generators. */
export interface UpstreamTexts {
  /** <bundleDir>/manifests/calico-<version>.yaml, for Calico's `manifest` mode (see manifests/calico) */
  calicoManifest?: string;
}

export interface Facts {
  secrets: Secrets;
  /** sha256:<hex> of the CA's SubjectPublicKeyInfo, as kubeadm's --discovery-token-ca-cert-hash wants it */
  caCertHash: string;
  /** Upstream files from the bundle; absent when rendering without one (generators then say what is missing) */
  upstream?: UpstreamTexts;
  /** settings for hosts that are not real machines (./overlay.ts); absent for real hosts */
  overlay?: import('./overlay.js').OverlayName;
}

interface FileBase {
  content: string;
  /** POSIX mode, e.g. 0o644; files holding secrets are 0o600 */
  mode: number;
  /** true when the content holds a secret (never shown in API responses, logs or events) */
  secret: boolean;
  /** the generator that produced it */
  generator: string;
}

/** A file placed on one host at an absolute path. */
export interface HostFile extends FileBase {
  kind: 'host';
  host: string;
  path: string;
}

/** A cluster-level artifact (manifests, Helm values, image list), at a path relative to the output directory. */
export interface ClusterFile extends FileBase {
  kind: 'cluster';
  path: string;
}

export type GeneratedFile = HostFile | ClusterFile;

export interface Generator {
  name: string;
  generate(view: ClusterView, facts: Facts): GeneratedFile[];
}

/** Where a file lands under a render directory: hosts/<host>/<abs path> or the cluster file's own relative path. */
export function outputPath(f: GeneratedFile): string {
  return f.kind === 'host' ? `hosts/${f.host}${f.path}` : f.path;
}

export function hostFile(
  generator: string,
  host: string,
  path: string,
  content: string,
  opts: { mode?: number; secret?: boolean } = {},
): HostFile {
  const secret = opts.secret ?? false;
  return { kind: 'host', generator, host, path, content, mode: opts.mode ?? (secret ? 0o600 : 0o644), secret };
}

export function clusterFile(
  generator: string,
  path: string,
  content: string,
  opts: { mode?: number; secret?: boolean } = {},
): ClusterFile {
  const secret = opts.secret ?? false;
  return { kind: 'cluster', generator, path, content, mode: opts.mode ?? (secret ? 0o600 : 0o644), secret };
}
