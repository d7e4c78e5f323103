// `bundle verify SPEC DIR`: the bundle is complete for the spec and intact, checked from the files themselves.
// Every problem is collected and reported at once: missing items, wrong package/chart versions, wrong checksums or
// sizes against bundle.yaml (a truncated file), image archives that do not hold the image their name promises (a
// swapped image), files bundle.yaml does not list, unreadable packages/archives. An install never starts while any
// problem stands (the plan's preflight step `preflight/local/bundle` runs this; the CLI runs it before connecting).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterView } from '../../spec/derive.js';
import { versionMatches } from '../packages.js';
import { bundleContents, type BundleRequirement } from '../contents.js';
import { normalizeImage, type Inspected } from './inspect.js';
import { isUnder, MANIFEST_FILE, packageExtension } from '../layout.js';
import { newManifest, parseManifest, type Artifact, type BundleManifest } from '../manifest.js';
import { scanBundle, type Progress } from './scan.js';

/**
 * What is wrong with a bundle: no bundle, a bad manifest, a file missing, of another version, size or checksum, content
 * that is not what its place says, a file the manifest does not list, unreadable, or two files claiming the same thing.
 */
export type BundleIssueCode =
  | 'no-bundle'
  | 'manifest'
  | 'missing'
  | 'version'
  | 'checksum'
  | 'size'
  | 'content'
  | 'unlisted'
  | 'unreadable'
  | 'conflict';

/** One problem with a bundle: where (bundle-relative path), a code and a message a user can act on. */
export interface BundleIssue {
  /** bundle-relative path of the file or directory concerned ('' for the bundle itself) */
  path: string;
  code: BundleIssueCode;
  message: string;
}

/** The outcome of {@link verifyBundle}: every issue, what the directory holds and whether that serves the spec. */
export interface VerifyResult {
  ok: boolean;
  issues: BundleIssue[];
  /** what the directory holds, as read from the files (the manifest `bundle pack` would write) */
  actual: BundleManifest;
  /** bundle.yaml as found, when it parsed */
  manifest?: BundleManifest;
  files: number;
  bytes: number;
  durationMs: number;
}

/** One line per issue, `path: message`, for terminals and logs. */
export function formatBundleIssues(issues: readonly BundleIssue[]): string {
  return issues.map((i) => `${i.path || '(bundle)'}: ${i.message}`).join('\n');
}

const describePackages = (r: Extract<BundleRequirement, { kind: 'os-package' }>) =>
  r.packages.map((p) => (p.version ? `${p.name} ${p.version}` : p.name)).join(', ');

/** Checks the requirements of a spec against what the files are. Pure: the caller has read the directory. */
export function checkRequirements(requirements: readonly BundleRequirement[], inspected: ReadonlyMap<string, Inspected>): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const add = (path: string, code: BundleIssueCode, message: string) => issues.push({ path, code, message });
  const all = [...inspected.values()];
  for (const r of requirements) {
    switch (r.kind) {
      case 'os-package': {
        const here = all.filter((i) => isUnder(i.artifact.path, r.path));
        const pkgs = here.map((i) => i.artifact).filter((a): a is Extract<Artifact, { kind: 'os-package' }> => a.kind === 'os-package');
        if (here.length === 0) {
          add(r.path, 'missing', `missing: the ${r.os} packages ${describePackages(r)} with their dependencies`);
          break;
        }
        const ext = packageExtension(r.os);
        const wrongExt = ext === '.rpm' ? '.deb' : '.rpm';
        for (const i of here) {
          if (i.artifact.path.endsWith(wrongExt)) add(i.artifact.path, 'content', `a ${wrongExt} package among the ${r.os} ones (${ext} only)`);
        }
        for (const p of r.packages) {
          const named = pkgs.filter((a) => a.name === p.name);
          if (named.length === 0) {
            add(r.path, 'missing', `missing: package ${p.name}${p.version ? ` ${p.version}` : ''}`);
            continue;
          }
          if (p.version) {
            const good = named.filter((a) => versionMatches(a.version, p.version!));
            for (const a of named.filter((x) => !good.includes(x))) {
              add(a.path, 'version', `${a.name} ${a.version}, the spec needs ${p.version}`);
            }
          }
        }
        const byName = new Map<string, typeof pkgs>();
        for (const a of pkgs) byName.set(`${a.name}/${a.arch}`, [...(byName.get(`${a.name}/${a.arch}`) ?? []), a]);
        for (const [, list] of byName) {
          if (list.length > 1) {
            add(r.path, 'conflict', `${list.length} ${list[0]!.name} packages (${list.map((a) => a.version).join(', ')}): the installer would take them all; keep one`);
          }
        }
        break;
      }
      case 'image': {
        const i = inspected.get(r.path);
        if (!i) {
          add(r.path, 'missing', `missing: image ${r.image}`);
          break;
        }
        if (i.artifact.kind !== 'image') break; // unreadable: reported with the file's own problems
        const want = normalizeImage(r.image);
        if (!i.artifact.images.includes(want)) add(r.path, 'content', `holds ${i.artifact.images.join(', ')}, not ${want}`);
        break;
      }
      case 'chart': {
        const i = inspected.get(r.path);
        if (!i) {
          add(r.path, 'missing', `missing: chart ${r.name} ${r.version}`);
          break;
        }
        if (i.artifact.kind !== 'chart') break;
        if (i.artifact.name !== r.name) add(r.path, 'content', `holds chart ${i.artifact.name}, not ${r.name}`);
        else if (i.artifact.version.replace(/^v/, '') !== r.version.replace(/^v/, '')) add(r.path, 'version', `chart ${r.name} ${i.artifact.version}, the spec needs ${r.version}`);
        break;
      }
      case 'manifest': {
        const i = inspected.get(r.path);
        if (!i) {
          add(r.path, 'missing', `missing: ${r.name} ${r.version} manifest`);
          break;
        }
        if (r.name === 'calico' && !(i.text ?? '').includes(`calico/node:${r.version}`)) {
          add(r.path, 'content', `does not look like Calico ${r.version}'s calico.yaml (no calico/node:${r.version} image in it)`);
        }
        break;
      }
      case 'model': {
        const here = r.directory ? all.filter((i) => isUnder(i.artifact.path, r.path)) : all.filter((i) => i.artifact.path === r.path);
        if (here.length === 0) add(r.path, 'missing', `missing: ${r.directory ? 'weights directory' : 'model file'} of model ${r.name}`);
        break;
      }
      case 'binary': {
        const i = inspected.get(r.path);
        if (!i) {
          add(r.path, 'missing', `missing: ${r.name} ${r.version}`);
          break;
        }
        if (i.elf === false) add(r.path, 'content', `not a Linux x86-64 executable`);
        break;
      }
    }
  }
  return issues;
}

/** bundle.yaml against the files: listed but absent, different size or sha256, different metadata, unlisted. */
export function checkManifest(manifest: BundleManifest, inspected: ReadonlyMap<string, Inspected>): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const listed = new Set<string>();
  for (const e of manifest.artifacts) {
    listed.add(e.path);
    const i = inspected.get(e.path);
    if (!i) {
      issues.push({ path: e.path, code: 'missing', message: `listed in ${MANIFEST_FILE} but missing` });
      continue;
    }
    const a = i.artifact;
    if (a.size !== e.size) {
      issues.push({ path: e.path, code: 'size', message: `${a.size} bytes, ${MANIFEST_FILE} says ${e.size}${a.size < e.size ? ' (truncated?)' : ''}` });
    } else if (a.sha256 !== e.sha256) {
      issues.push({ path: e.path, code: 'checksum', message: `sha256 ${a.sha256}, ${MANIFEST_FILE} says ${e.sha256}` });
    } else if (a.kind !== e.kind || a.name !== e.name || ('version' in a ? a.version : undefined) !== ('version' in e ? e.version : undefined)) {
      issues.push({ path: e.path, code: 'manifest', message: `${MANIFEST_FILE} describes it differently from its content: pack the bundle again` });
    }
  }
  for (const [path] of inspected) {
    if (!listed.has(path)) issues.push({ path, code: 'unlisted', message: `not in ${MANIFEST_FILE} (run \`airgap-k8s bundle pack\` after changing the directory)` });
  }
  return issues;
}

/** Reads the directory (hashing every file) and checks it against the spec and its bundle.yaml. */
export async function verifyBundle(
  view: ClusterView,
  dir: string,
  opts: { onProgress?: (p: Progress) => void; signal?: AbortSignal } = {},
): Promise<VerifyResult> {
  const t0 = Date.now();
  const requirements = bundleContents(view);
  const empty = newManifest([]);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const issues: BundleIssue[] = [{ path: '', code: 'no-bundle', message: `no bundle directory at ${dir}` }];
    return { ok: false, issues, actual: empty, files: 0, bytes: 0, durationMs: Date.now() - t0 };
  }
  const issues: BundleIssue[] = [];
  let manifest: BundleManifest | undefined;
  const manifestFile = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestFile)) {
    issues.push({ path: MANIFEST_FILE, code: 'manifest', message: `missing: without it no checksum can be checked (write it with \`airgap-k8s bundle pack ${dir}\`)` });
  } else {
    const parsed = parseManifest(readFileSync(manifestFile, 'utf8'));
    if (parsed.ok) manifest = parsed.manifest;
    else for (const i of parsed.issues) issues.push({ path: MANIFEST_FILE, code: 'manifest', message: `${i.path || '(document)'}: ${i.message}` });
  }
  const scan = await scanBundle(dir, opts);
  for (const [path, i] of scan.inspected) for (const p of i.problems) issues.push({ path, code: 'unreadable', message: p });
  if (manifest) issues.push(...checkManifest(manifest, scan.inspected));
  issues.push(...checkRequirements(requirements, scan.inspected));
  const order: Record<BundleIssueCode, number> = { 'no-bundle': 0, manifest: 1, missing: 2, version: 3, content: 4, conflict: 5, size: 6, checksum: 7, unreadable: 8, unlisted: 9 };
  issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : order[a.code] - order[b.code]));
  return {
    ok: issues.length === 0,
    issues: dedupe(issues),
    actual: newManifest([...scan.inspected.values()].map((i) => i.artifact)),
    ...(manifest ? { manifest } : {}),
    files: scan.files.length,
    bytes: scan.bytes,
    durationMs: Date.now() - t0,
  };
}

function dedupe(issues: BundleIssue[]): BundleIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\0${i.code}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Thrown by a verified bundle source when the bundle has problems; carries them all. */
export class BundleVerificationError extends Error {
  constructor(
    readonly dir: string,
    readonly issues: readonly BundleIssue[],
  ) {
    super(`the offline bundle at ${dir} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${formatBundleIssues(issues)}`);
    this.name = 'BundleVerificationError';
  }
}
