// bundle.yaml: what an offline bundle directory holds, one entry per file with its kind, name, version, path, size
// and sha256. Written by `bundle pack` from the files themselves (package headers, image archive indexes, Chart.yaml),
// checked strictly (unknown fields are errors), read by `bundle verify` and by the distributor.
import yaml from 'js-yaml';
import { z } from 'zod';
import { formatPath, type SpecIssue } from '../spec/issues.js';
import { HostOS } from '../spec/schema.js';
import { toYaml } from '../generators/render/yaml.js';
import { isBundlePath, MANIFEST_FILE } from './layout.js';

/** The `apiVersion` of bundle.yaml. */
export const BUNDLE_API_VERSION = 'airgap-k8s/v1alpha1';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const RelPath = z
  .string()
  .max(4096)
  .refine((p) => isBundlePath(p), 'must be a relative path inside the bundle (no leading /, no . or .. segments)')
  .refine((p) => p !== MANIFEST_FILE, `must not be the manifest itself (${MANIFEST_FILE})`);

const Base = {
  name: z.string().min(1).max(512),
  path: RelPath,
  size: z.number().int().nonnegative(),
  sha256: Sha256,
};

/** Schema of an OS package (.rpm or .deb) in the manifest: name, version and architecture as its header says. */
export const OsPackageArtifact = z.strictObject({
  kind: z.literal('os-package'),
  ...Base,
  /** epoch:version-release (rpm) or the Debian version, as the package manager reports it */
  version: z.string().min(1).max(256),
  arch: z.string().min(1).max(64),
  os: HostOS,
  /** the package group directory (packages/<os>/<group>) */
  group: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  format: z.enum(['rpm', 'deb']),
});

/** Schema of an image archive in the manifest, with every image reference the archive holds. */
export const ImageArtifact = z.strictObject({
  kind: z.literal('image'),
  ...Base,
  /** every image reference the archive names, fully qualified (docker.io/library/x:y) */
  images: z.array(z.string().min(1)).min(1),
  format: z.enum(['docker-archive', 'oci-archive']),
});

/** Schema of a Helm chart archive in the manifest, with the chart's version. */
export const ChartArtifact = z.strictObject({
  kind: z.literal('chart'),
  ...Base,
  /** Chart.yaml version */
  version: z.string().min(1).max(128),
});

/** Schema of an upstream Kubernetes manifest in the manifest (Calico's calico.yaml), with its version when known. */
export const ManifestArtifact = z.strictObject({ kind: z.literal('manifest'), ...Base, version: z.string().min(1).max(128).optional() });
/** Schema of a model file in the manifest. */
export const ModelArtifact = z.strictObject({ kind: z.literal('model'), ...Base });
/** Schema of a binary for the hosts (helm) in the manifest, with its version when known. */
export const BinaryArtifact = z.strictObject({ kind: z.literal('binary'), ...Base, version: z.string().min(1).max(128).optional() });
/** anything else the directory holds (notes, checksum lists): carried and checked, never installed */
export const FileArtifact = z.strictObject({ kind: z.literal('file'), ...Base });

/** Schema of any manifest entry, told apart by `kind`. */
export const Artifact = z.discriminatedUnion('kind', [
  OsPackageArtifact,
  ImageArtifact,
  ChartArtifact,
  ManifestArtifact,
  ModelArtifact,
  BinaryArtifact,
  FileArtifact,
]);

/** Schema of bundle.yaml: `apiVersion`, `kind: Bundle` and the artifacts sorted by path, each path once. */
export const BundleManifestSchema = z
  .strictObject({
    apiVersion: z.literal(BUNDLE_API_VERSION),
    kind: z.literal('Bundle'),
    /** sorted by path */
    artifacts: z.array(Artifact),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.artifacts.forEach((a, i) => {
      if (seen.has(a.path)) ctx.addIssue({ code: 'custom', path: ['artifacts', i, 'path'], message: `${a.path} is listed twice` });
      seen.add(a.path);
    });
  });

/** One entry of the bundle manifest: a file's kind, name, path, size and sha256, plus what its kind adds. */
export type Artifact = z.output<typeof Artifact>;
/** The kinds of bundle files: os-package, image, chart, manifest, model, binary, file. */
export type ArtifactKind = Artifact['kind'];
/** An OS package entry of the manifest. */
export type OsPackageArtifact = z.output<typeof OsPackageArtifact>;
/** An image archive entry of the manifest. */
export type ImageArtifact = z.output<typeof ImageArtifact>;
/** A Helm chart entry of the manifest. */
export type ChartArtifact = z.output<typeof ChartArtifact>;
/** The parsed bundle.yaml. */
export type BundleManifest = z.output<typeof BundleManifestSchema>;

/** A manifest of these artifacts, sorted by path (what `bundle pack` writes). */
export function newManifest(artifacts: Artifact[]): BundleManifest {
  return { apiVersion: BUNDLE_API_VERSION, kind: 'Bundle', artifacts: [...artifacts].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

/** The manifest, or every issue found in its text with its path. */
export type ParsedManifest = { ok: true; manifest: BundleManifest } | { ok: false; issues: SpecIssue[] };

/** Parses bundle.yaml text; every problem is an issue with its path inside the document. */
export function parseManifest(text: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    return { ok: false, issues: [{ path: '', code: 'yaml', message: `not YAML: ${(e as Error).message.split('\n')[0]}` }] };
  }
  const r = BundleManifestSchema.safeParse(doc);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, issues: r.error.issues.map((i) => ({ path: formatPath(i.path), code: i.code, message: i.message })) };
}

/** Deterministic bundle.yaml text: marker, then the document with entries sorted by path. */
export function manifestText(m: BundleManifest): string {
  const sorted = newManifest(m.artifacts);
  const order = ['kind', 'name', 'version', 'path', 'size', 'sha256'];
  // entry keys in reading order (kind, name, version, path, size, sha256, then the rest sorted), not alphabetical
  const artifacts = sorted.artifacts.map((a) => {
    const rec = a as Record<string, unknown>;
    const keys = Object.keys(rec).sort((x, y) => {
      const ix = order.indexOf(x);
      const iy = order.indexOf(y);
      if (ix >= 0 || iy >= 0) return (ix < 0 ? order.length : ix) - (iy < 0 ? order.length : iy);
      return x < y ? -1 : 1;
    });
    return Object.fromEntries(keys.map((k) => [k, rec[k]]));
  });
  const body = yaml.dump({ artifacts }, { lineWidth: -1, noRefs: true, quotingType: '"', noCompatMode: false });
  return (
    '# Offline bundle manifest, generated by `airgap-k8s bundle pack`. Do not edit: change the directory and pack again.\n' +
    toYaml({ apiVersion: sorted.apiVersion, kind: sorted.kind }) +
    body
  );
}
