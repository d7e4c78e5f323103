// The cluster CA made with node:crypto, read back by an independent reader: openssl (x509 -text, verify, pkey) and
// Node's X509Certificate.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkClusterCA, keyAlgorithm, newClusterCA, newClusterCAAsync } from './ca.js';
import { parseSecrets, secretsToYaml } from './secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'airgap-k8s-ca-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let n = 0;
function files(ca: { cert: string; key: string }): { crt: string; key: string } {
  const base = join(dir, `ca-${n++}`);
  writeFileSync(`${base}.crt`, ca.cert);
  writeFileSync(`${base}.key`, ca.key, { mode: 0o600 });
  return { crt: `${base}.crt`, key: `${base}.key` };
}

const NOW = new Date('2026-01-02T03:04:05.678Z');

const cases = [
  { alg: 'ECDSA-P256', signature: 'ecdsa-with-SHA256', key: /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/, pem: 'EC PRIVATE KEY' },
  { alg: 'ECDSA-P384', signature: 'ecdsa-with-SHA384', key: /Public-Key: \(384 bit\)[\s\S]*NIST CURVE: P-384/, pem: 'EC PRIVATE KEY' },
  { alg: 'RSA-2048', signature: 'sha256WithRSAEncryption', key: /Public-Key: \(2048 bit\)/, pem: 'RSA PRIVATE KEY' },
] as const;

describe.each(cases)('a new $alg cluster CA', (c) => {
  // the async form, as the REST service makes it
  const made = newClusterCAAsync(c.alg, NOW).then((ca) => ({ ca, paths: files(ca) }));

  it('is a self-signed X.509 v3 CA as kubeadm makes its own (openssl x509 -text)', async () => {
    const { paths } = await made;
    const text = openssl('x509', '-in', paths.crt, '-noout', '-text');
    expect(text).toContain('Version: 3 (0x2)');
    expect(text.match(new RegExp(`Signature Algorithm: ${c.signature}`, 'g'))).toHaveLength(2); // in the TBS and outside
    expect(text).toMatch(/Issuer: CN ?= ?kubernetes\n/);
    expect(text).toMatch(/Subject: CN ?= ?kubernetes\n/);
    expect(text).toMatch(c.key);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment, Certificate Sign\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    expect(text).toMatch(/X509v3 Subject Key Identifier: ?\n\s+[0-9A-F]{2}(:[0-9A-F]{2}){19}\n/);
    expect(text).toMatch(/X509v3 Subject Alternative Name: ?\n\s+DNS:kubernetes\n/);
    // kubeadm's 5 minutes of backdating and 10 years (3650 days) from there
    expect(text).toContain('Not Before: Jan  2 02:59:05 2026 GMT');
    expect(text).toContain('Not After : Dec 31 02:59:05 2035 GMT');
  });

  it('verifies with its own public key (Node and openssl), and the key file holds that key', async () => {
    const { ca, paths } = await made;
    const x = new X509Certificate(ca.cert);
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.verify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBe(false);
    // openssl checks the self-signature with its own code (a trust anchor's only with -check_ss_sig); a certificate with one bit of its signature flipped fails
    expect(openssl('verify', '-check_ss_sig', '-CAfile', paths.crt, paths.crt).trim()).toBe(`${paths.crt}: OK`);
    const der = Buffer.from(x.raw);
    der[der.length - 8]! ^= 0x01;
    const bad = files({ cert: `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`, key: ca.key }).crt;
    expect(() => openssl('verify', '-check_ss_sig', '-CAfile', bad, bad)).toThrow(/signature failure/);
    const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
    expect(spki(createPublicKey(createPrivateKey(ca.key))).equals(spki(x.publicKey))).toBe(true);
    expect(openssl('pkey', '-in', paths.key, '-pubout')).toBe(openssl('x509', '-in', paths.crt, '-noout', '-pubkey'));
  });

  it(`writes the key as kubeadm does (${c.pem}) and the secrets file takes it`, async () => {
    const { ca } = await made;
    expect(ca.key.startsWith(`-----BEGIN ${c.pem}-----\n`)).toBe(true);
    expect(keyAlgorithm(createPrivateKey(ca.key))).toBe(c.alg);
    const text = secretsToYaml({ bootstrapToken: 'abcdef.0123456789abcdef', certificateKey: '0'.repeat(64), ca, passwords: {}, sshKeys: {} });
    const parsed = parseSecrets(text);
    expect(parsed.ok && parsed.secrets.ca).toEqual(ca);
  });

  it('has the subject key identifier openssl computes for the same key', async () => {
    const { paths } = await made;
    const ski = (text: string) => /Subject Key Identifier: ?\n\s+(\S+)/.exec(text)?.[1];
    const ours = ski(openssl('x509', '-in', paths.crt, '-noout', '-text'));
    const theirs = ski(openssl('req', '-new', '-x509', '-key', paths.key, '-subj', '/CN=other', '-days', '1', '-addext', 'subjectKeyIdentifier=hash', '-text', '-noout'));
    expect(ours).toBeDefined();
    expect(ours).toBe(theirs);
  });
});

describe('new cluster CAs', () => {
  it('have random positive serials of 16 bytes (the sync form too)', async () => {
    const serials = [newClusterCA('ECDSA-P256', NOW), await newClusterCAAsync('ECDSA-P256', NOW)].map((ca) => new X509Certificate(ca.cert).serialNumber);
    for (const s of serials) expect(s).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(serials[0]).not.toBe(serials[1]);
  });

  it('switch to GeneralizedTime from 2050 on (RFC 5280), which openssl reads', () => {
    const { crt } = files(newClusterCA('ECDSA-P256', new Date('2045-06-01T00:00:00Z')));
    const text = openssl('x509', '-in', crt, '-noout', '-text');
    expect(text).toContain('Not Before: May 31 23:55:00 2045 GMT');
    expect(text).toContain('Not After : May 29 23:55:00 2055 GMT');
    const asn1 = openssl('asn1parse', '-in', crt);
    expect(asn1).toMatch(/UTCTIME\s+:450531235500Z/);
    expect(asn1).toMatch(/GENERALIZEDTIME\s+:20550529235500Z/);
  });
});

describe('keyAlgorithm', () => {
  it('names keys in kubeadm\'s spelling, and those kubeadm never makes in the same style', () => {
    const name = (k: ReturnType<typeof generateKeyPairSync>['privateKey']) => keyAlgorithm(k);
    expect(name(generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey)).toBe('ECDSA-P521');
    expect(name(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)).toBe('RSA-1024');
    expect(name(generateKeyPairSync('ed25519').privateKey)).toBe('ed25519');
  });
});

describe('checkClusterCA', () => {
  it('answers a CA it checked before from what it found, per wanted algorithm, each caller its own copy', () => {
    const ecdsa = newClusterCA('ECDSA-P256');
    const rsa = newClusterCA('RSA-2048');
    expect(checkClusterCA(ecdsa, 'ECDSA-P256')).toEqual([]);
    const mismatch = checkClusterCA(ecdsa, 'RSA-2048');
    expect(mismatch).toMatchObject([{ path: 'ca.key', code: 'mismatch' }]);
    // the same CA again, and the other algorithm's answer is not taken for it
    expect(checkClusterCA(ecdsa, 'ECDSA-P256')).toEqual([]);
    mismatch[0]!.message = 'changed by a caller';
    expect(checkClusterCA(ecdsa, 'RSA-2048')[0]!.message).toMatch(/^is an ECDSA-P256 key, but/);
    // a key that is not the certificate's: the pair is what counts, not the certificate alone
    expect(checkClusterCA({ cert: ecdsa.cert, key: rsa.key }, undefined).map((i) => i.path)).toContain('ca.key');
    expect(checkClusterCA({ cert: rsa.cert, key: rsa.key }, undefined)).toEqual([]);
  });
});
