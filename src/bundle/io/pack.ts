// `bundle pack DIR -o FILE [--gzip]`: one pass over the directory that hashes and inspects every file while writing
// it into a tar (the project's one tar writer, ./tar.ts, used entry by entry so gigabytes stream through), then
// bundle.yaml, which is also written into DIR. Without -o only bundle.yaml is written.
// Compression: gzip (node's zlib). zstd would need a native module on Node 20, so it is not offered.
import { createWriteStream, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import { entryHeader, entryPadding, TAR_END } from './tar.js';
import { inspectFile, type Inspected } from './inspect.js';
import { MANIFEST_FILE } from '../layout.js';
import { manifestText, newManifest, type BundleManifest } from '../manifest.js';
import { listBundleFiles, type Progress } from './scan.js';
import type { BundleIssue } from './verify.js';

/** Fixed entry time: the same directory packs to the same bytes. */
const TAR_MTIME = 946_684_800; // 2000-01-01T00:00:00Z

/**
 * The outcome of {@link packBundle}: the manifest it made, the files that are not what their place says, and the
 * archive written.
 */
export interface PackResult {
  ok: boolean;
  manifest: BundleManifest;
  /** files that are not what their place says (unreadable package, image archive without a name) */
  issues: BundleIssue[];
  files: number;
  bytes: number;
  /** the archive written (absent without -o or on failure) */
  out?: string;
  archiveBytes?: number;
  durationMs: number;
}

class Sink {
  private readonly file: WriteStream;
  private readonly head: WriteStream | Gzip;
  written = 0;
  private failed: Error | undefined;
  constructor(path: string, gzip: boolean) {
    this.file = createWriteStream(path, { mode: 0o644 });
    this.file.on('error', (e) => (this.failed ??= e));
    if (gzip) {
      const gz = createGzip({ level: 6 });
      gz.on('error', (e) => (this.failed ??= e));
      gz.pipe(this.file);
      this.head = gz;
    } else this.head = this.file;
    this.file.on('finish', () => undefined);
  }
  async write(b: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    this.written += b.length;
    if (!this.head.write(b)) await new Promise<void>((r, j) => {
      const onErr = (e: Error) => j(e);
      this.head.once('drain', () => {
        this.head.off('error', onErr);
        r();
      });
      this.head.once('error', onErr);
    });
  }
  async close(): Promise<number> {
    await new Promise<void>((r, j) => {
      this.file.once('close', () => r());
      this.file.once('error', j);
      this.head.end();
    });
    if (this.failed) throw this.failed;
    return this.file.bytesWritten;
  }
  destroy(): void {
    this.head.destroy();
    this.file.destroy();
  }
}

/**
 * Reads every file of a bundle directory once, makes its manifest (bundle.yaml: kind, size, sha256 per file) and, with
 * `out`, writes the directory and the manifest as one reproducible tar (fixed times and modes; `gzip` to compress), in
 * place of `out` only when complete. Throws when `out` lies inside the directory.
 */
export async function packBundle(
  dir: string,
  opts: { out?: string; gzip?: boolean; onProgress?: (p: Progress) => void; signal?: AbortSignal } = {},
): Promise<PackResult> {
  const t0 = Date.now();
  const root = resolve(dir);
  const out = opts.out ? resolve(opts.out) : undefined;
  if (out && !relative(root, out).startsWith('..') && relative(root, out) !== '') {
    throw new Error(`the archive ${out} would be inside the bundle directory ${root}: write it elsewhere`);
  }
  const files = await listBundleFiles(root);
  const total = files.reduce((n, f) => n + f.size, 0);
  const tmp = out ? `${out}.partial` : undefined;
  const sink = tmp ? new Sink(tmp, !!opts.gzip) : undefined;
  const inspected: Inspected[] = [];
  let bytes = 0;
  let last = 0;
  try {
    for (const f of files) {
      if (sink) await sink.write(entryHeader(f.path, f.size, f.mode & 0o111 ? 0o755 : 0o644, TAR_MTIME));
      const r = await inspectFile(f.file, f.path, {
        expectSize: f.size,
        signal: opts.signal,
        ...(sink ? { tee: (c: Buffer) => sink.write(c) } : {}),
        onBytes: (n) => {
          bytes += n;
          const now = Date.now();
          if (opts.onProgress && now - last >= 500) {
            last = now;
            opts.onProgress({ bytes, total, path: f.path });
          }
        },
      });
      if (sink) await sink.write(entryPadding(f.size));
      inspected.push(r);
    }
    const issues: BundleIssue[] = inspected.flatMap((i) => i.problems.map((message) => ({ path: i.artifact.path, code: 'unreadable' as const, message })));
    const manifest = newManifest(inspected.map((i) => i.artifact));
    const result: PackResult = { ok: issues.length === 0, manifest, issues, files: files.length, bytes, durationMs: 0 };
    if (!result.ok) {
      sink?.destroy();
      if (tmp) rmSync(tmp, { force: true });
      result.durationMs = Date.now() - t0;
      return result;
    }
    const text = Buffer.from(manifestText(manifest), 'utf8');
    if (sink && tmp && out) {
      await sink.write(entryHeader(MANIFEST_FILE, text.length, 0o644, TAR_MTIME));
      await sink.write(text);
      await sink.write(entryPadding(text.length));
      await sink.write(TAR_END);
      result.archiveBytes = await sink.close();
      renameSync(tmp, out);
      result.out = out;
    }
    const mtmp = join(root, `.${MANIFEST_FILE}.tmp`);
    writeFileSync(mtmp, text, { mode: 0o644 });
    renameSync(mtmp, join(root, MANIFEST_FILE));
    opts.onProgress?.({ bytes, total, path: '' });
    result.durationMs = Date.now() - t0;
    return result;
  } catch (e) {
    sink?.destroy();
    if (tmp) rmSync(tmp, { force: true });
    throw e;
  }
}
