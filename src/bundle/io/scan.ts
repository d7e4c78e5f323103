// Reading a bundle directory: every file (but bundle.yaml) walked in path order, hashed and inspected.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectFile, type Inspected } from './inspect.js';
import { MANIFEST_FILE } from '../layout.js';

/** A regular file of a bundle directory. */
export interface BundleFile {
  /** bundle-relative, '/'-separated */
  path: string;
  /** the local file */
  file: string;
  size: number;
  mode: number;
}

/** Progress of a long read over a bundle (scan, verify, pack). */
export interface Progress {
  /** bytes done of `total` */
  bytes: number;
  total: number;
  /** the file being worked on */
  path: string;
}

/** Regular files below dir (symlinks followed), sorted by path; bundle.yaml at the root left out. */
export async function listBundleFiles(dir: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const file = join(dir, path);
      const st = await stat(file);
      if (st.isDirectory()) await walk(path);
      else if (st.isFile() && path !== MANIFEST_FILE) out.push({ path, file, size: st.size, mode: st.mode & 0o777 });
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Hashes and inspects every file, a few at a time; progress in bytes. */
export async function scanBundle(
  dir: string,
  opts: { onProgress?: (p: Progress) => void; signal?: AbortSignal; concurrency?: number } = {},
): Promise<{ files: BundleFile[]; inspected: Map<string, Inspected>; bytes: number }> {
  const files = await listBundleFiles(dir);
  const total = files.reduce((n, f) => n + f.size, 0);
  const inspected = new Map<string, Inspected>();
  let bytes = 0;
  let last = 0;
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const file = f;
      const r = await inspectFile(file.file, file.path, {
        signal: opts.signal,
        onBytes: (n) => {
          bytes += n;
          const now = Date.now();
          if (opts.onProgress && now - last >= 200) {
            last = now;
            opts.onProgress({ bytes, total, path: file.path });
          }
        },
      });
      inspected.set(file.path, r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, files.length)) }, worker));
  opts.onProgress?.({ bytes, total, path: '' });
  return { files, inspected, bytes };
}
