// Host key checking, checked against OpenSSH's own tools: fingerprints as `ssh-keygen -l` prints them, known_hosts
// as `ssh-keygen -H` hashes it and as `ssh-keygen -F` finds entries.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostKey, entryMatches, fingerprintSha256, keyTypeOf, parseKnownHosts } from '../../src/executors/ssh/host-keys.js';

let dir: string;
const keys: Record<string, { blob: Buffer; line: string; file: string }> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airgap-hostkeys-'));
  for (const [name, type] of [['ed', 'ed25519'], ['ec', 'ecdsa'], ['rsa', 'rsa'], ['other', 'ed25519']] as const) {
    const file = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file], { stdio: 'ignore' });
    const line = readFileSync(`${file}.pub`, 'utf8').trim();
    keys[name] = { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line, file };
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keygenFp = (file: string) => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
const kh = (text: string) => ({ knownHostsFile: '/kh', knownHostsText: text });
const keyPart = (name: string) => keys[name]!.line.split(' ').slice(0, 2).join(' ');

describe('fingerprints', () => {
  it.each(['ed', 'ec', 'rsa'])('%s: SHA256 fingerprint equals ssh-keygen -l', (name) => {
    expect(fingerprintSha256(keys[name]!.blob)).toBe(keygenFp(keys[name]!.file));
  });
  it('reads the key type from the blob', () => {
    expect(keyTypeOf(keys.ed!.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(keys.ec!.blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(keys.rsa!.blob)).toBe('ssh-rsa');
  });
});

describe('known_hosts', () => {
  it('hashed entries match exactly what ssh-keygen -F finds', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, [`[10.0.0.5]:2222 ${keyPart('ed')}`, `10.0.0.6 ${keyPart('ec')}`, `h1.example,10.0.0.7 ${keyPart('rsa')}`, ''].join('\n'));
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    for (const [addr, port] of [['10.0.0.5', 2222], ['10.0.0.5', 22], ['10.0.0.6', 22], ['10.0.0.6', 2222], ['10.0.0.7', 22], ['10.0.0.8', 22]] as const) {
      const name = port === 22 ? addr : `[${addr}]:${port}`;
      let found = false;
      try {
        found = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' }).includes('found');
      } catch {
        found = false; // exit 1: not found
      }
      expect(entries.some((e) => entryMatches(e, addr, port)), name).toBe(found);
    }
  });

  it('plain patterns: lists, [host]:port, wildcards and negation', () => {
    const [e] = parseKnownHosts(`10.0.0.*,!10.0.0.9,[10.1.0.1]:2200 ${keyPart('ed')}\n`);
    expect(entryMatches(e!, '10.0.0.4', 22)).toBe(true);
    expect(entryMatches(e!, '10.0.0.9', 22)).toBe(false);
    expect(entryMatches(e!, '10.0.0.4', 2200)).toBe(false);
    expect(entryMatches(e!, '10.1.0.1', 2200)).toBe(true);
    expect(entryMatches(e!, '10.1.0.1', 22)).toBe(false);
  });

  it('accepts the known key, rejects another key of the same type as a MISMATCH, an unknown host with its fingerprint', () => {
    const text = `# comment\n\n[10.0.0.5]:2222 ${keyPart('ed')}\nmalformed line\n`;
    expect(checkHostKey(kh(text), '10.0.0.5', 2222, keys.ed!.blob)).toEqual({ ok: true });
    const mismatch = checkHostKey(kh(text), '10.0.0.5', 2222, keys.other!.blob);
    expect(mismatch.ok).toBe(false);
    expect(!mismatch.ok && mismatch.message).toContain('HOST KEY MISMATCH');
    expect(!mismatch.ok && mismatch.message).toContain('/kh line 3');
    const unknown = checkHostKey(kh(text), '10.0.0.6', 22, keys.ec!.blob);
    expect(!unknown.ok && unknown.message).toContain(fingerprintSha256(keys.ec!.blob));
    expect(!unknown.ok && unknown.message).toContain('not known');
  });

  it('@revoked beats a matching entry; @cert-authority lines are not trust for a plain key', () => {
    const text = `10.0.0.5 ${keyPart('ed')}\n@revoked * ${keyPart('ed')}\n@cert-authority * ${keyPart('ec')}\n`;
    const v = checkHostKey(kh(text), '10.0.0.5', 22, keys.ed!.blob);
    expect(!v.ok && v.message).toContain('@revoked');
    expect(checkHostKey(kh(text), '10.0.0.6', 22, keys.ec!.blob).ok).toBe(false);
  });

  it('pinned fingerprints: equal is ok (with or without base64 padding), different names both', () => {
    const fp = fingerprintSha256(keys.ed!.blob);
    expect(checkHostKey({ fingerprint: fp }, 'h', 22, keys.ed!.blob).ok).toBe(true);
    expect(checkHostKey({ fingerprint: `${fp}=` }, 'h', 22, keys.ed!.blob).ok).toBe(true);
    const v = checkHostKey({ fingerprint: fp }, 'h', 22, keys.other!.blob);
    expect(!v.ok && v.message).toContain(fp);
    expect(!v.ok && v.message).toContain(fingerprintSha256(keys.other!.blob));
  });
});
