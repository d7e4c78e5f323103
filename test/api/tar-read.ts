// A minimal tar reader for tests (ustar + pax `path`): what the archive really holds, independently of tar(1).
export interface ReadEntry {
  path: string;
  mode: number;
  size: number;
  mtime: number;
  content: Buffer;
}

export function listTar(buf: Buffer): ReadEntry[] {
  const out: ReadEntry[] = [];
  let off = 0;
  let paxPath: string | undefined;
  const str = (o: number, n: number) => buf.subarray(o, o + n).toString('utf8').replace(/\0.*$/s, '');
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = str(off, 100);
    const mode = parseInt(str(off + 100, 8), 8);
    const size = parseInt(str(off + 124, 12), 8);
    const mtime = parseInt(str(off + 136, 12), 8);
    const type = str(off + 156, 1);
    const prefix = str(off + 345, 155);
    const content = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      paxPath = /\d+ path=(.*)\n/.exec(content.toString('utf8'))?.[1];
      continue;
    }
    out.push({ path: paxPath ?? (prefix ? `${prefix}/${name}` : name), mode, size, mtime, content: Buffer.from(content) });
    paxPath = undefined;
  }
  return out;
}
