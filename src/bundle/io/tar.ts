// A small ustar writer (POSIX.1-1988 + pax extended headers for long paths) and gzip: the project's one tar writer,
// for the bundle (./pack.ts, entry by entry) and the API's rendered files as one download; ./tar-scan.ts reads.
// Deterministic: entries in the given order, fixed mtime, uid/gid 0, so the same files give the same bytes.
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  path: string;
  content: string | Buffer;
  mode: number;
}

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

function octal(n: number, width: number): string {
  // width includes the trailing NUL
  return n.toString(8).padStart(width - 1, '0');
}

function header(name: string, size: number, mode: number, mtime: number, type: '0' | 'x', prefix = ''): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const put = (s: string, off: number, len: number) => {
    const b = Buffer.from(s, 'utf8');
    if (b.length > len) throw new Error(`tar: field too long: ${s}`);
    b.copy(h, off);
  };
  put(name, 0, 100);
  put(octal(mode & 0o7777, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  if (size <= MAX_OCTAL_SIZE) put(octal(size, 12), 124, 12);
  else {
    // beyond 11 octal digits (8 GiB): base-256 (GNU), with the exact size also in a pax record before this header
    h[124] = 0x80;
    for (let i = 135, n = size; i > 124; i--, n = Math.floor(n / 256)) h[i] = n % 256;
  }
  put(octal(mtime, 12), 136, 12);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  put(type, 156, 1);
  put('ustar\u000000', 257, 8); // magic "ustar\0" + version "00"
  put('root', 265, 32);
  put('root', 297, 32);
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(`${octal(sum, 7)}\u0000 `, 148, 8);
  return h;
}

/** Split a path into ustar prefix (<=155 bytes) + name (<=100 bytes) at a '/', or undefined when impossible. */
function split(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return { prefix, name };
  }
  return undefined;
}

const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK, 0);

/** One pax record: "<len> path=<value>\n" where len counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(body);
  let len = bytes + 1;
  while (bytes + String(len).length !== len) len = bytes + String(len).length;
  return `${len}${body}`;
}

/**
 * The header blocks of one regular file entry (a pax extended header first when the path does not fit ustar or the
 * size exceeds 8 GiB). Followed by the data and entryPadding(size); the archive ends with TAR_END. Streaming writers
 * (bundle pack) use these directly; tar() below builds a whole archive in memory from the same pieces.
 */
export function entryHeader(path: string, size: number, mode: number, mtime: number): Buffer {
  if (path.startsWith('/') || path.split('/').includes('..')) throw new Error(`tar: unsafe path ${path}`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: bad size ${size} for ${path}`);
  const parts: Buffer[] = [];
  let names = split(path);
  let pax = '';
  if (!names) {
    pax += paxRecord('path', path);
    names = { prefix: '', name: path.slice(-99) }; // readers that ignore pax still get a recognisable name
  }
  if (size > MAX_OCTAL_SIZE) pax += paxRecord('size', String(size));
  if (pax) {
    const rec = Buffer.from(pax, 'utf8');
    parts.push(header('PaxHeader/entry', rec.length, 0o644, mtime, 'x'), rec, pad(rec.length));
  }
  parts.push(header(names.name, size, mode, mtime, '0', names.prefix));
  return Buffer.concat(parts);
}

/** Zero bytes after an entry's data up to the next 512-byte block. */
export function entryPadding(size: number): Buffer {
  return pad(size);
}

/** End of archive: two zero blocks. */
export const TAR_END = Buffer.alloc(BLOCK * 2, 0);

export function tar(entries: readonly TarEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : e.content;
    parts.push(entryHeader(e.path, data.length, e.mode, mtime), data, pad(data.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

export function tarGz(entries: readonly TarEntry[], mtime: number): Buffer {
  return gzipSync(tar(entries, mtime), { level: 9 });
}
