// The tar writer against GNU tar (the reader users have) and our own reader: paths (long ones through pax), modes,
// contents, fixed mtimes, byte-identical output for the same input.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tar, tarGz, type TarEntry } from '../../src/bundle/io/tar.js';
import { listTar } from './tar-read.js';

const long = `c/${'very-long-directory-name/'.repeat(4)}${'x'.repeat(60)}.yaml`; // > 100 bytes: ustar prefix
const veryLong = `c/${'d'.repeat(120)}/${'f'.repeat(120)}.yaml`; // no prefix/name split fits: pax header
const entries: TarEntry[] = [
  { path: 'c/hosts/m1/etc/haproxy/haproxy.cfg', content: 'global\n  maxconn 4000\n', mode: 0o644 },
  { path: 'c/hosts/m1/etc/kubernetes/secret.yaml', content: 'token: abc\n', mode: 0o600 },
  { path: 'c/empty', content: '', mode: 0o755 },
  { path: 'c/utf8-é.txt', content: 'ünïcødé ✓\n', mode: 0o644 },
  { path: 'c/exactly-512', content: 'y'.repeat(512), mode: 0o644 },
  { path: long, content: 'long\n', mode: 0o644 },
  { path: veryLong, content: 'very long\n', mode: 0o640 },
];
const MTIME = 1_767_225_600; // 2026-01-01

describe('tar', () => {
  it('GNU tar lists and extracts it: paths, sizes, modes, contents, mtime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-'));
    writeFileSync(join(dir, 'a.tar.gz'), tarGz(entries, MTIME));
    const listing = execFileSync('tar', ['-tzf', join(dir, 'a.tar.gz')], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual(entries.map((e) => e.path));
    const out = join(dir, 'x');
    execFileSync('mkdir', [out]);
    execFileSync('tar', ['-xzf', join(dir, 'a.tar.gz'), '-C', out, '--no-same-owner']);
    for (const e of entries) {
      const p = join(out, e.path);
      expect(readFileSync(p, 'utf8')).toBe(e.content);
      expect(statSync(p).mode & 0o777).toBe(e.mode);
      expect(Math.floor(statSync(p).mtimeMs / 1000)).toBe(MTIME);
    }
  });

  it('our reader agrees; the archive ends with two zero blocks and is block-aligned', () => {
    const raw = tar(entries, MTIME);
    expect(raw.length % 512).toBe(0);
    expect(raw.subarray(-1024).every((b) => b === 0)).toBe(true);
    const read = listTar(raw);
    expect(read.map((e) => [e.path, e.mode, e.content.toString('utf8'), e.mtime])).toEqual(entries.map((e) => [e.path, e.mode, e.content, MTIME]));
  });

  it('is deterministic and refuses unsafe paths', () => {
    expect(tarGz(entries, MTIME).equals(tarGz(entries, MTIME))).toBe(true);
    expect(gunzipSync(tarGz(entries, MTIME)).equals(tar(entries, MTIME))).toBe(true);
    expect(() => tar([{ path: '/etc/passwd', content: '', mode: 0o644 }], 0)).toThrow(/unsafe/);
    expect(() => tar([{ path: 'a/../../b', content: '', mode: 0o644 }], 0)).toThrow(/unsafe/);
  });
});
