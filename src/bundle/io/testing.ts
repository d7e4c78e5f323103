// Test helpers (not part of the library's exports): small but format-true artifacts — a .deb (ar + control.tar.gz),
// an rpm (lead + signature + main header), docker-save and OCI image archives, a chart .tgz, an ELF header — and a
// whole bundle directory for a spec made of them. Real Debian packages and `docker save` archives are exercised on
// the test bed (test/bundle/).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tar, tarGz } from './tar.js';
import type { ClusterView } from '../../spec/derive.js';
import { bundleContents } from '../contents.js';
import { osProfile } from '../../os/profiles.js';
import { newManifest, type BundleManifest } from '../manifest.js';

const MTIME = 946_684_800;

function arMember(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(60, 0x20);
  h.write(name, 0, 'latin1');
  h.write(String(MTIME), 16, 'latin1');
  h.write('0', 28, 'latin1');
  h.write('0', 34, 'latin1');
  h.write('100644', 40, 'latin1');
  h.write(String(data.length), 48, 'latin1');
  h.write('`\n', 58, 'latin1');
  return Buffer.concat([h, data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
}

export function makeDeb(p: { name: string; version: string; arch?: string; payload?: string }): Buffer {
  const control = `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: ${p.arch ?? 'amd64'}\nMaintainer: test <test@example.invalid>\nDescription: test package\n`;
  return Buffer.concat([
    Buffer.from('!<arch>\n', 'latin1'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember('control.tar.gz', gzipSync(tar([{ path: './control', content: control, mode: 0o644 }], MTIME))),
    arMember('data.tar.gz', gzipSync(tar([{ path: `./usr/share/doc/${p.name}/README`, content: p.payload ?? `${p.name} ${p.version}\n`, mode: 0o644 }], MTIME))),
  ]);
}

/** An rpm whose header carries NAME, VERSION, RELEASE, ARCH (and EPOCH), followed by a fake payload. */
export function makeRpm(p: { name: string; version: string; release: string; arch?: string; epoch?: number; payload?: Buffer }): Buffer {
  const lead = Buffer.alloc(96, 0);
  lead.writeUInt32BE(0xedabeedb, 0);
  lead[4] = 3;
  lead.writeUInt16BE(1, 8); // archnum
  lead.write(`${p.name}-${p.version}-${p.release}`.slice(0, 65), 10, 'latin1');
  lead.writeUInt16BE(1, 76); // osnum
  lead.writeUInt16BE(5, 78); // signature type
  const hdr = (entries: { tag: number; type: number; data: Buffer; count: number }[]) => {
    const index: Buffer[] = [];
    const store: Buffer[] = [];
    let off = 0;
    for (const e of entries) {
      if (e.type === 4 && off % 4) {
        const pad = 4 - (off % 4);
        store.push(Buffer.alloc(pad));
        off += pad;
      }
      const i = Buffer.alloc(16);
      i.writeUInt32BE(e.tag, 0);
      i.writeUInt32BE(e.type, 4);
      i.writeUInt32BE(off, 8);
      i.writeUInt32BE(e.count, 12);
      index.push(i);
      store.push(e.data);
      off += e.data.length;
    }
    const head = Buffer.alloc(16);
    head.writeUInt32BE(0x8eade801, 0);
    head.writeUInt32BE(entries.length, 8);
    head.writeUInt32BE(off, 12);
    return Buffer.concat([head, ...index, ...store]);
  };
  const str = (s: string) => Buffer.from(`${s}\0`, 'utf8');
  const sig = hdr([]);
  const sigPad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  const entries = [
    { tag: 1000, type: 6, data: str(p.name), count: 1 },
    { tag: 1001, type: 6, data: str(p.version), count: 1 },
    { tag: 1002, type: 6, data: str(p.release), count: 1 },
  ];
  if (p.epoch !== undefined) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(p.epoch, 0);
    entries.push({ tag: 1003, type: 4, data: b, count: 1 });
  }
  entries.push({ tag: 1022, type: 6, data: str(p.arch ?? 'x86_64'), count: 1 });
  return Buffer.concat([lead, sig, sigPad, hdr(entries), p.payload ?? Buffer.from(`payload of ${p.name}`)]);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A `docker save` archive (manifest.json with RepoTags, config, one layer, legacy repositories). */
export function makeDockerArchive(refs: string[], content = refs.join(',')): Buffer {
  const layer = tar([{ path: 'hello.txt', content, mode: 0o644 }], MTIME);
  const layerId = sha(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${layerId}`] } }));
  const configName = `${sha(config)}.json`;
  const manifest = [{ Config: configName, RepoTags: refs, Layers: [`${layerId}/layer.tar`] }];
  return tar(
    [
      { path: `${layerId}/layer.tar`, content: layer, mode: 0o644 },
      { path: configName, content: config, mode: 0o644 },
      { path: 'manifest.json', content: JSON.stringify(manifest), mode: 0o644 },
    ],
    MTIME,
  );
}

/** An OCI image layout archive as `ctr images export` writes it (index.json annotations name the image). */
export function makeOciArchive(ref: string, opts: { refName?: string } = {}): Buffer {
  const layer = gzipSync(tar([{ path: 'hello.txt', content: ref, mode: 0o644 }], MTIME));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha(layer)}`, size: layer.length }],
    }),
  );
  const tag = ref.slice(ref.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${sha(manifest)}`,
        size: manifest.length,
        annotations: opts.refName !== undefined ? { 'org.opencontainers.image.ref.name': opts.refName } : { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  return tar(
    [
      { path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}', mode: 0o644 },
      { path: `blobs/sha256/${sha(config)}`, content: config, mode: 0o644 },
      { path: `blobs/sha256/${sha(layer)}`, content: layer, mode: 0o644 },
      { path: `blobs/sha256/${sha(manifest)}`, content: manifest, mode: 0o644 },
      { path: 'index.json', content: JSON.stringify(index), mode: 0o644 },
    ],
    MTIME,
  );
}

export function makeChart(name: string, version: string): Buffer {
  return tarGz(
    [
      { path: `${name}/Chart.yaml`, content: `apiVersion: v2\nname: ${name}\nversion: ${version}\n`, mode: 0o644 },
      { path: `${name}/values.yaml`, content: '{}\n', mode: 0o644 },
    ],
    MTIME,
  );
}

/** The first bytes of a Linux x86-64 ELF executable, padded. */
export function fakeElf(size = 4096): Buffer {
  const b = Buffer.alloc(size, 0);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b[6] = 1;
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(62, 18);
  return b;
}

function put(root: string, path: string, data: Buffer | string): void {
  const f = join(root, path);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, data);
}

/** Writes a complete bundle for the spec into root (no bundle.yaml: pack writes it). */
export function makeBundle(root: string, view: ClusterView, opts: { modelBytes?: number } = {}): void {
  for (const r of bundleContents(view)) {
    switch (r.kind) {
      case 'os-package':
        for (const p of r.packages) {
          const os = osProfile(r.os);
          if (os.packages.manager === 'rpm') {
            const version = p.version ?? '1.0.0';
            const release = `1.el${os.osRelease.versionMajor}`;
            put(root, `${r.path}/${p.name}-${version}-${release}.x86_64.rpm`, makeRpm({ name: p.name, version, release }));
          } else {
            const version = `${p.version ?? '1.0.0'}-1`;
            put(root, `${r.path}/${p.name}_${version}_amd64.deb`, makeDeb({ name: p.name, version }));
          }
        }
        break;
      case 'image':
        put(root, r.path, makeDockerArchive([r.image]));
        break;
      case 'chart':
        put(root, r.path, makeChart(r.name, r.version));
        break;
      case 'manifest':
        // the hand-written stand-in for calico.yaml the transform tests use (v3.27.0 images)
        put(root, r.path, readFileSync(new URL('../../../fixtures/upstream/calico-excerpt.yaml', import.meta.url), 'utf8').replaceAll('v3.27.0', r.version));
        break;
      case 'model':
        if (r.directory) put(root, `${r.path}/config.json`, '{}\n');
        else put(root, r.path, Buffer.alloc(opts.modelBytes ?? 1024, 7));
        break;
      case 'binary':
        put(root, r.path, fakeElf());
        break;
    }
  }
}

/**
 * File names a shell would act on if one ever reached it as text (bundle paths hold no NUL, CR or LF). CANARY is
 * for the caller to replace with a path whose existence afterwards would show a command ran.
 */
export const HOSTILE_NAMES = [
  `it's "quoted" $HOME \`id\` ;|&<>*?[a] {x,y} \\ ~ #.bin`,
  '-rf --no-preserve-root',
  '$(touch CANARY)',
  'ü ✓ 模型 tab\there.gguf',
];

/**
 * A bundle directory of small model files at `models/<name>/<name>` for each of HOSTILE_NAMES (CANARY replaced by
 * `canary`), and its manifest (not written: bundle.yaml is not needed to upload).
 */
export function makeHostileBundle(dir: string, canary: string): { names: string[]; manifest: BundleManifest } {
  const names = HOSTILE_NAMES.map((n) => n.replace('CANARY', canary));
  const manifest = newManifest(
    names.map((n, i) => {
      const path = `models/${n}/${n}`;
      const content = Buffer.from(`model ${i}: ${n}\n`.repeat(1000 + i));
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
      return { kind: 'model', name: `m${i}`, path, size: content.length, sha256: createHash('sha256').update(content).digest('hex') };
    }),
  );
  return { names, manifest };
}
