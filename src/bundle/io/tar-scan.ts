// A streaming tar reader that never holds more than the entries it is asked to capture: fed chunk by chunk (while
// a file is being hashed), it walks the headers, skips data it does not want and keeps the few small entries it
// does (an image archive's manifest.json / index.json, a chart's Chart.yaml). ustar with pax (`path`, `size`) and GNU
// long-name records, octal and base-256 sizes.

export interface TarEntryInfo {
  path: string;
  size: number;
  /** ustar type flag: '0' regular file, '5' directory, '2' symlink, ... */
  type: string;
}

const BLOCK = 512;
const MAX_META = 1024 * 1024;

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function parseSize(b: Buffer): number | undefined {
  const f = b.subarray(124, 136);
  if (f[0]! & 0x80) {
    // base-256 (GNU): big-endian in the remaining bytes
    let n = 0;
    for (let i = 1; i < 12; i++) n = n * 256 + f[i]!;
    return n;
  }
  const s = f.toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return Number.parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = h.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === Number.parseInt(stored, 8);
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number(data.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length) break;
    const rec = data.toString('utf8', sp + 1, off + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return out;
}

export class TarScanner {
  /** set when the stream is not a tar archive (bad header checksum, bad size) */
  error: string | undefined;
  /** the end-of-archive blocks were seen */
  ended = false;
  entries = 0;
  private head: Buffer = Buffer.alloc(0);
  private state: 'header' | 'data' | 'done' = 'header';
  private remaining = 0; // data bytes left of the current entry
  private padding = 0; // padding bytes after the data
  private capture: Buffer[] | undefined;
  private captureLeft = 0;
  private current: TarEntryInfo | undefined;
  private meta: 'pax' | 'gnu-longname' | undefined;
  private pax: Record<string, string> = {};
  private longName: string | undefined;

  /**
   * @param want  how many bytes of an entry to keep (0: skip it); entries whose size exceeds it are passed with
   *              `truncated` true
   * @param onEntry called with each captured entry (after its data) and every skipped one (data undefined)
   */
  constructor(
    private readonly want: (e: TarEntryInfo) => number,
    private readonly onEntry: (e: TarEntryInfo, data: Buffer | undefined, truncated: boolean) => void,
  ) {}

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && this.state !== 'done') {
      if (this.state === 'header') {
        const need = BLOCK - this.head.length;
        const take = Math.min(need, chunk.length - off);
        this.head = this.head.length === 0 && take === BLOCK ? chunk.subarray(off, off + BLOCK) : Buffer.concat([this.head, chunk.subarray(off, off + take)]);
        off += take;
        if (this.head.length === BLOCK) {
          const h = this.head;
          this.head = Buffer.alloc(0);
          this.header(h);
        }
        continue;
      }
      // data (then padding)
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - off);
        if (this.capture && this.captureLeft > 0) {
          const keep = Math.min(take, this.captureLeft);
          this.capture.push(Buffer.from(chunk.subarray(off, off + keep)));
          this.captureLeft -= keep;
        }
        this.remaining -= take;
        off += take;
        if (this.remaining > 0) continue;
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, chunk.length - off);
        this.padding -= take;
        off += take;
        if (this.padding > 0) continue;
      }
      this.finishEntry();
    }
  }

  private fail(why: string): void {
    this.error = why;
    this.state = 'done';
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.ended = true;
      this.state = 'done';
      return;
    }
    if (!checksumOk(h)) return this.fail(`not a tar archive (bad header checksum at entry ${this.entries + 1})`);
    let size = parseSize(h);
    if (size === undefined) return this.fail(`not a tar archive (bad size at entry ${this.entries + 1})`);
    const type = String.fromCharCode(h[156] || 0x30);
    const magic = h.toString('latin1', 257, 262);
    let path = cstr(h, 0, 100);
    if (magic === 'ustar') {
      const prefix = cstr(h, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    if (type === 'x' || type === 'L') {
      if (size > MAX_META) return this.fail(`tar ${type === 'x' ? 'pax' : 'long name'} record of ${size} bytes`);
      this.meta = type === 'x' ? 'pax' : 'gnu-longname';
      this.begin({ path, size, type }, size);
      return;
    }
    if (type === 'g') {
      this.meta = undefined;
      this.begin({ path, size, type }, 0);
      return;
    }
    if (this.pax.path) path = this.pax.path;
    else if (this.longName !== undefined) path = this.longName;
    if (this.pax.size && /^[0-9]+$/.test(this.pax.size)) size = Number(this.pax.size);
    this.pax = {};
    this.longName = undefined;
    this.meta = undefined;
    path = path.replace(/^\.\//, '');
    const info = { path, size, type };
    this.entries++;
    const dataSize = type === '0' || type === '\0' || type === '7' ? size : 0;
    info.size = dataSize;
    this.begin(info, dataSize > 0 ? Math.max(0, this.want(info)) : 0);
  }

  private begin(info: TarEntryInfo, keep: number): void {
    this.current = info;
    this.remaining = info.size;
    this.padding = (BLOCK - (info.size % BLOCK)) % BLOCK;
    this.capture = keep > 0 ? [] : undefined;
    this.captureLeft = keep;
    this.state = 'data';
    if (info.size === 0) this.finishEntry();
  }

  private finishEntry(): void {
    const info = this.current!;
    const data = this.capture ? Buffer.concat(this.capture) : undefined;
    this.state = 'header';
    this.capture = undefined;
    if (this.meta === 'pax') {
      this.pax = data ? paxRecords(data) : {};
      this.meta = undefined;
      return;
    }
    if (this.meta === 'gnu-longname') {
      this.longName = data ? data.toString('utf8').replace(/\0+$/, '') : undefined;
      this.meta = undefined;
      return;
    }
    if (info.type === 'g') return;
    this.onEntry(info, data, data !== undefined && data.length < info.size);
  }

  /** true when the archive ended cleanly or at least one whole entry was read before the data stopped */
  get complete(): boolean {
    return this.ended && !this.error;
  }
}
