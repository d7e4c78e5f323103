// What a bundle file is, read from the file itself in the same pass that hashes it: an rpm's header (name, epoch,
// version, release, arch), a .deb's control file, an image archive's references (docker save manifest.json RepoTags,
// OCI index.json io.containerd.image.name / org.opencontainers.image.ref.name, legacy `repositories`), a chart's
// Chart.yaml, an ELF header. Nothing is executed; the only programs called are `xz`/`zstd` to unpack a .deb's small
// control archive when it is compressed with them (node has no xz), falling back to the file name when they are
// missing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { createGunzip, gunzipSync, type Gunzip } from 'node:zlib';
import yaml from 'js-yaml';
import { formatImage, parseImage } from '../../images.js';
import { HostOS, type HostSpec } from '../../spec/schema.js';
import type { Artifact } from '../manifest.js';
import { BIN_DIR, CHARTS_DIR, IMAGES_DIR, MANIFESTS_DIR, MODELS_DIR, PACKAGES_DIR } from '../layout.js';
import { TarScanner } from './tar-scan.js';

/** What reading one bundle file found: its manifest entry, its problems and (for packages) what it is. */
export interface Inspected {
  /** the manifest entry this file gets (kind file when it cannot be classified) */
  artifact: Artifact;
  /** why the file is not what its place in the layout says (unreadable header, no image reference, ...) */
  problems: string[];
  /** text of upstream manifests (manifests/*.yaml), for content checks */
  text?: string;
  /** binaries: a Linux x86-64 ELF executable */
  elf?: boolean;
}

const MiB = 1024 * 1024;

// ---- rpm --------------------------------------------------------------------------------------------------------

/** A package's name, version and architecture, as read from its rpm or deb header. */
export interface PackageInfo {
  name: string;
  version: string;
  arch: string;
}

const RPMTAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, ARCH: 1022 } as const;

/** Parses the lead, signature header and main header of an rpm (enough bytes of its start). */
export function parseRpmHeader(b: Buffer): PackageInfo | string {
  if (b.length < 96 || b.readUInt32BE(0) !== 0xedabeedb) return 'not an rpm (no lead magic)';
  const header = (off: number): { tags: Map<number, { type: number; offset: number; count: number }>; store: number; end: number } | string => {
    if (off + 16 > b.length) return 'rpm header cut short';
    if (b.readUInt32BE(off) !== 0x8eade801) return 'rpm header magic missing';
    const n = b.readUInt32BE(off + 8);
    const hsize = b.readUInt32BE(off + 12);
    if (n > 100_000 || hsize > 256 * MiB) return 'rpm header sizes out of range';
    const store = off + 16 + n * 16;
    const end = store + hsize;
    if (store > b.length) return 'rpm header index cut short';
    const tags = new Map<number, { type: number; offset: number; count: number }>();
    for (let i = 0; i < n; i++) {
      const e = off + 16 + i * 16;
      tags.set(b.readUInt32BE(e), { type: b.readUInt32BE(e + 4), offset: b.readUInt32BE(e + 8), count: b.readUInt32BE(e + 12) });
    }
    return { tags, store, end };
  };
  const sig = header(96);
  if (typeof sig === 'string') return sig;
  const mainOff = sig.end + ((8 - (sig.end % 8)) % 8);
  const main = header(mainOff);
  if (typeof main === 'string') return main;
  const str = (tag: number): string | undefined => {
    const t = main.tags.get(tag);
    if (!t || (t.type !== 6 && t.type !== 9)) return undefined;
    const at = main.store + t.offset;
    const end = b.indexOf(0, at);
    if (at >= b.length || end < 0) return undefined;
    return b.toString('utf8', at, end);
  };
  const name = str(RPMTAG.NAME);
  const version = str(RPMTAG.VERSION);
  const release = str(RPMTAG.RELEASE);
  const arch = str(RPMTAG.ARCH) ?? 'noarch';
  if (!name || !version || !release) return 'rpm header lacks name, version or release';
  const e = main.tags.get(RPMTAG.EPOCH);
  const epoch = e && e.type === 4 && main.store + e.offset + 4 <= b.length ? b.readUInt32BE(main.store + e.offset) : undefined;
  return { name, version: `${epoch ? `${epoch}:` : ''}${version}-${release}`, arch };
}

// ---- deb --------------------------------------------------------------------------------------------------------

function parseControl(text: string): PackageInfo | string {
  const f: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) f[m[1]!.toLowerCase()] = m[2]!.trim();
  }
  if (!f.package || !f.version) return 'control file lacks Package or Version';
  return { name: f.package, version: f.version, arch: f.architecture ?? 'all' };
}

function decompress(tool: 'xz' | 'zstd', data: Buffer): Buffer | undefined {
  const r = spawnSync(tool, ['-dc'], { input: data, maxBuffer: 64 * MiB, timeout: 30_000 });
  return r.status === 0 && r.stdout ? r.stdout : undefined;
}

/** name_version_arch.deb as apt-get download names files (':' of an epoch as %3a). */
export function debFromFileName(file: string): PackageInfo | undefined {
  const m = /^([a-z0-9][a-z0-9+.-]+)_([^_]+)_([a-z0-9-]+)\.deb$/.exec(posix.basename(file));
  if (!m) return undefined;
  return { name: m[1]!, version: decodeURIComponent(m[2]!), arch: m[3]! };
}

/** A .deb's control fields from the start of the file (an `ar` archive: debian-binary, control.tar.*, data.tar.*). */
export function parseDebHeader(b: Buffer, fileName: string): PackageInfo | string {
  if (b.toString('latin1', 0, 8) !== '!<arch>\n') return 'not a .deb (no ar magic)';
  let off = 8;
  while (off + 60 <= b.length) {
    const name = b.toString('latin1', off, off + 16).trim().replace(/\/$/, '');
    const size = Number(b.toString('latin1', off + 48, off + 58).trim());
    if (!Number.isInteger(size) || size < 0) return 'bad ar member header';
    const start = off + 60;
    if (name.startsWith('control.tar')) {
      if (start + size > b.length) return 'control archive cut short';
      const raw = b.subarray(start, start + size);
      let tarData: Buffer | undefined;
      if (name === 'control.tar') tarData = raw;
      else if (name === 'control.tar.gz') tarData = gunzipSync(raw);
      else if (name === 'control.tar.xz') tarData = decompress('xz', raw);
      else if (name === 'control.tar.zst') tarData = decompress('zstd', raw);
      if (!tarData) {
        const fromName = debFromFileName(fileName);
        return fromName ?? `cannot unpack ${name} (no ${name.split('.').pop()} program) and the file name is not name_version_arch.deb`;
      }
      let control: string | undefined;
      const scan = new TarScanner(
        (e) => (e.path === 'control' ? MiB : 0),
        (e, data) => {
          if (e.path === 'control' && data) control = data.toString('utf8');
        },
      );
      scan.push(tarData);
      if (!control) return 'no control file in the control archive';
      return parseControl(control);
    }
    off = start + size + (size % 2);
  }
  return 'no control archive in the .deb';
}

// ---- image archives ---------------------------------------------------------------------------------------------

/** A full reference (host/path:tag or @digest) normalised the way our image lists spell them. */
export function normalizeImage(ref: string): string {
  return formatImage(parseImage(ref));
}

/** References named by an image archive's metadata files. Tag-only OCI ref names (no repository) are ignored. */
export function archiveImages(files: { manifest?: Buffer; index?: Buffer; repositories?: Buffer }): { images: string[]; format: 'docker-archive' | 'oci-archive' } | string {
  const refs = new Set<string>();
  let format: 'docker-archive' | 'oci-archive' | undefined;
  try {
    if (files.manifest) {
      format = 'docker-archive';
      const m = JSON.parse(files.manifest.toString('utf8')) as { RepoTags?: string[] | null }[];
      if (!Array.isArray(m)) return 'manifest.json is not a list';
      for (const e of m) for (const t of e.RepoTags ?? []) refs.add(normalizeImage(t));
    }
    if (files.index) {
      format ??= 'oci-archive';
      const idx = JSON.parse(files.index.toString('utf8')) as { manifests?: { annotations?: Record<string, string> }[] };
      for (const m of idx.manifests ?? []) {
        const a = m.annotations ?? {};
        const full = a['io.containerd.image.name'];
        if (full) refs.add(normalizeImage(full));
        const ref = a['org.opencontainers.image.ref.name'];
        // OCI allows a bare tag here; only a name with a repository says which image this is
        if (ref && (ref.includes('/') || /^[^:]+:[^:]+$/.test(ref)) && !/^[\w][\w.-]*$/.test(ref)) refs.add(normalizeImage(ref));
      }
    }
    if (files.repositories) {
      format ??= 'docker-archive';
      const r = JSON.parse(files.repositories.toString('utf8')) as Record<string, Record<string, string>>;
      for (const [repo, tags] of Object.entries(r)) for (const tag of Object.keys(tags)) refs.add(normalizeImage(`${repo}:${tag}`));
    }
  } catch (e) {
    return `unreadable image metadata: ${(e as Error).message}`;
  }
  if (!format) return 'no manifest.json or index.json: not a docker save / OCI image archive';
  if (refs.size === 0) return 'the archive names no image reference (save it by name: docker save -o FILE REF)';
  return { images: [...refs].sort(), format };
}

// ---- classification and the hashing pass -----------------------------------------------------------------------

type Sink = { push(b: Buffer): void; end(): Promise<void> | void };

/** The kind a path's place in the layout implies. */
export function classify(path: string): { kind: Artifact['kind']; os?: HostSpec['os']; group?: string; format?: 'rpm' | 'deb' } {
  const parts = path.split('/');
  if (parts[0] === PACKAGES_DIR && parts.length === 4) {
    const os = HostOS.safeParse(parts[1]);
    const ext = path.endsWith('.rpm') ? 'rpm' : path.endsWith('.deb') ? 'deb' : undefined;
    if (os.success && ext) return { kind: 'os-package', os: os.data, group: parts[2]!, format: ext };
  }
  if (parts[0] === IMAGES_DIR && parts.length === 2 && path.endsWith('.tar')) return { kind: 'image' };
  if (parts[0] === CHARTS_DIR && parts.length === 2 && path.endsWith('.tgz')) return { kind: 'chart' };
  if (parts[0] === MANIFESTS_DIR && parts.length === 2 && /\.ya?ml$/.test(path)) return { kind: 'manifest' };
  if (parts[0] === MODELS_DIR && parts.length >= 2) return { kind: 'model' };
  if (parts[0] === BIN_DIR && parts.length === 2) return { kind: 'binary' };
  return { kind: 'file' };
}

/** name-version from a file name such as calico-v3.27.0.yaml or helm-v3.19.0 */
function nameVersion(file: string): { name: string; version?: string } {
  const base = file.replace(/\.(ya?ml|tgz|tar)$/, '');
  const m = /^(.+?)-(v?\d[\w.+~-]*)$/.exec(base);
  return m ? { name: m[1]!, version: m[2]! } : { name: base };
}

interface Collector {
  sink: Sink;
  finish(size: number, sha256: string): Inspected;
}

function collectorFor(path: string): Collector {
  const c = classify(path);
  const base = (size: number, sha256: string) => ({ name: posix.basename(path), path, size, sha256 });
  const asFile = (size: number, sha256: string, problems: string[]): Inspected => ({ artifact: { kind: 'file', ...base(size, sha256) }, problems });

  if (c.kind === 'os-package') {
    const head: Buffer[] = [];
    let got = 0;
    const limit = c.format === 'rpm' ? 16 * MiB : 4 * MiB;
    return {
      sink: {
        push(b) {
          if (got < limit) {
            head.push(b.subarray(0, limit - got));
            got += Math.min(b.length, limit - got);
          }
        },
        end() {},
      },
      finish(size, sha256) {
        const buf = Buffer.concat(head);
        const info = c.format === 'rpm' ? parseRpmHeader(buf) : parseDebHeader(buf, path);
        if (typeof info === 'string') return asFile(size, sha256, [`${c.format === 'rpm' ? 'rpm' : '.deb'} unreadable: ${info}`]);
        return {
          artifact: { kind: 'os-package', ...base(size, sha256), name: info.name, version: info.version, arch: info.arch, os: c.os!, group: c.group!, format: c.format! },
          problems: [],
        };
      },
    };
  }

  if (c.kind === 'image') {
    const meta: { manifest?: Buffer; index?: Buffer; repositories?: Buffer } = {};
    const scan = new TarScanner(
      (e) => (e.path === 'manifest.json' || e.path === 'index.json' || e.path === 'repositories' ? MiB : 0),
      (e, data) => {
        if (!data) return;
        if (e.path === 'manifest.json') meta.manifest = data;
        else if (e.path === 'index.json') meta.index = data;
        else if (e.path === 'repositories') meta.repositories = data;
      },
    );
    return {
      sink: { push: (b) => scan.push(b), end() {} },
      finish(size, sha256) {
        if (scan.error) return asFile(size, sha256, [`image archive unreadable: ${scan.error}`]);
        const r = archiveImages(meta);
        if (typeof r === 'string') return asFile(size, sha256, [`image archive: ${r}${scan.ended ? '' : ' (the archive is cut short)'}`]);
        const problems = scan.ended ? [] : ['image archive is cut short (no end-of-archive blocks)'];
        return { artifact: { kind: 'image', ...base(size, sha256), name: r.images[0]!, images: r.images, format: r.format }, problems };
      },
    };
  }

  if (c.kind === 'chart') {
    let chartYaml: Buffer | undefined;
    let gzError: string | undefined;
    let done = false;
    const scan = new TarScanner(
      (e) => (/^[^/]+\/Chart\.yaml$/.test(e.path) && !chartYaml ? MiB : 0),
      (e, data) => {
        if (data && /^[^/]+\/Chart\.yaml$/.test(e.path) && !chartYaml) {
          chartYaml = data;
          done = true;
        }
      },
    );
    const gunzip: Gunzip = createGunzip();
    gunzip.on('data', (b: Buffer) => {
      if (!done) scan.push(b);
    });
    gunzip.on('error', (e) => (gzError = e.message));
    return {
      sink: {
        push(b) {
          if (!done && !gzError) gunzip.write(b);
        },
        end() {
          return new Promise<void>((r) => {
            if (gzError || done) return r();
            gunzip.once('end', () => r());
            gunzip.once('error', () => r());
            gunzip.end();
            gunzip.resume();
          });
        },
      },
      finish(size, sha256) {
        if (!chartYaml) return asFile(size, sha256, [`chart unreadable: ${gzError ?? scan.error ?? 'no <chart>/Chart.yaml in the archive'}`]);
        let doc: { name?: unknown; version?: unknown };
        try {
          doc = (yaml.load(chartYaml.toString('utf8'), { schema: yaml.CORE_SCHEMA }) ?? {}) as typeof doc;
        } catch (e) {
          return asFile(size, sha256, [`Chart.yaml unreadable: ${(e as Error).message.split('\n')[0]}`]);
        }
        if (typeof doc.name !== 'string' || (typeof doc.version !== 'string' && typeof doc.version !== 'number')) {
          return asFile(size, sha256, ['Chart.yaml lacks name or version']);
        }
        return { artifact: { kind: 'chart', ...base(size, sha256), name: doc.name, version: String(doc.version) }, problems: [] };
      },
    };
  }

  if (c.kind === 'manifest') {
    const parts: Buffer[] = [];
    let got = 0;
    return {
      sink: {
        push(b) {
          if (got < 32 * MiB) parts.push(b);
          got += b.length;
        },
        end() {},
      },
      finish(size, sha256) {
        const nv = nameVersion(posix.basename(path));
        return { artifact: { kind: 'manifest', ...base(size, sha256), name: nv.name, version: nv.version }, problems: [], text: Buffer.concat(parts).toString('utf8') };
      },
    };
  }

  if (c.kind === 'binary') {
    let head = Buffer.alloc(0);
    return {
      sink: {
        push(b) {
          if (head.length < 64) head = Buffer.concat([head, b.subarray(0, 64 - head.length)]);
        },
        end() {},
      },
      finish(size, sha256) {
        const nv = nameVersion(posix.basename(path));
        // ELF, 64-bit, e_machine 62 (x86-64)
        const elf = head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 && head.readUInt16LE(18) === 62;
        return { artifact: { kind: 'binary', ...base(size, sha256), name: nv.name, version: nv.version }, problems: [], elf };
      },
    };
  }

  return {
    sink: { push() {}, end() {} },
    finish(size, sha256) {
      if (c.kind === 'model') return { artifact: { kind: 'model', ...base(size, sha256) }, problems: [] };
      return asFile(size, sha256, []);
    },
  };
}

/** How {@link inspectFile} reads a file: progress, a copy of every chunk, cancellation and the expected size. */
export interface InspectOptions {
  /** bytes read so far of this file (called per chunk) */
  onBytes?: (n: number) => void;
  /** every chunk, for a caller that also writes the file elsewhere (bundle pack); awaited (backpressure) */
  tee?: (chunk: Buffer) => Promise<void> | void;
  signal?: AbortSignal;
  /** the size the caller expects (pack wrote it into a tar header already); a file that changes size is an error */
  expectSize?: number;
}

const READ_CHUNK = 4 * MiB;

/** Hashes the file and reads what it is, in one pass. `path` is bundle-relative, `file` the local file. */
export async function inspectFile(file: string, path: string, opts: InspectOptions = {}): Promise<Inspected> {
  const fh = await open(file, 'r');
  const hash = createHash('sha256');
  const col = collectorFor(path);
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      if (opts.signal?.aborted) throw new Error('cancelled');
      const want = opts.expectSize !== undefined ? Math.min(READ_CHUNK, opts.expectSize - size) : READ_CHUNK;
      if (want <= 0) break;
      const { bytesRead } = await fh.read(buf, 0, want, null);
      if (bytesRead === 0) break;
      // the buffer is reused: whoever keeps bytes gets a copy
      const chunk = Buffer.from(buf.subarray(0, bytesRead));
      hash.update(chunk);
      col.sink.push(chunk);
      if (opts.tee) await opts.tee(chunk);
      size += bytesRead;
      opts.onBytes?.(bytesRead);
    }
    if (opts.expectSize !== undefined && size !== opts.expectSize) throw new Error(`${path} changed while it was read (${size} bytes, expected ${opts.expectSize})`);
  } finally {
    await fh.close();
  }
  await col.sink.end();
  return col.finish(size, hash.digest('hex'));
}
