// Writing rendered files to a directory: DIR/hosts/<host>/<abs path>, DIR/cluster/..., DIR/images.txt.
// Secret-bearing files are created 0600 from the first byte; everything is written to a temp name then renamed.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { outputPath, type GeneratedFile } from './types.js';

export function writeRendered(dir: string, files: readonly GeneratedFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    const rel = outputPath(f);
    const dest = join(dir, rel);
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    writeFileSync(tmp, f.content, { mode: f.mode });
    chmodSync(tmp, f.mode);
    renameSync(tmp, dest);
    written.push(rel);
  }
  return written;
}
