// Writing rendered files to a directory: DIR/hosts/<host>/<abs path>, DIR/cluster/..., DIR/images.txt. Kept out of
// src/generators/ (which never touches the filesystem): the generators make the files, this writes them.
// Secret-bearing files are created 0600 from the first byte; everything is written to a temp name then renamed.
import { chmodSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { outputPath, type GeneratedFile } from './generators/types.js';

/** An output directory that cannot be made or written: names the path and the cause. */
export class OutputDirError extends Error {}

/**
 * Makes `dir` one level at a time (not `mkdirSync(…, {recursive: true})`: on a path under /proc, Node 20's recursive
 * mkdir loops forever at full CPU), so any unwritable place fails at once with its path.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputDirError(`${d}: ${(e as Error).message}`);
      missing.unshift(d);
      const up = dirname(d);
      if (up === d) throw new OutputDirError(`${d}: no such directory`);
      d = up;
      continue;
    }
    if (!st.isDirectory()) throw new OutputDirError(`${d}: not a directory`);
    break;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(m).isDirectory()) continue;
      throw new OutputDirError(`cannot create ${m}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

export function writeRendered(dir: string, files: readonly GeneratedFile[]): string[] {
  ensureDir(dir);
  const made = new Set<string>();
  const written: string[] = [];
  for (const f of files) {
    const rel = outputPath(f);
    const dest = join(dir, rel);
    const parent = dirname(dest);
    if (!made.has(parent)) {
      ensureDir(parent);
      made.add(parent);
    }
    const tmp = `${dest}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, f.content, { mode: f.mode });
      chmodSync(tmp, f.mode);
      renameSync(tmp, dest);
    } catch (e) {
      throw new OutputDirError(`cannot write ${dest}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    written.push(rel);
  }
  return written;
}
