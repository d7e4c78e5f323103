// The cluster CA: a key pair of the cluster's encryption algorithm and a self-signed X.509 v3 certificate, made in
// this process with node:crypto, as kubeadm makes its own CA (pkiutil.NewSelfSignedCACert in kubeadm v1.34: CN and
// DNS name "kubernetes", keyUsage digitalSignature + keyEncipherment + keyCertSign, CA:TRUE, 10 years, a random
// positive serial; Go's x509 adds the subjectKeyIdentifier). No openssl child process: an ECDSA P-256 CA costs
// ~1.5 ms of CPU where `openssl req -newkey rsa:2048` cost ~0.65 s (an RSA-2048 key made here 0.2-0.5 s: `npm run
// bench`), and the async form keeps key generation and signing on libuv's thread pool, off the event loop. Part of src/secrets: the one place that makes
// randomness (key, serial) and reads the clock.
import { createHash, createPrivateKey, generateKeyPair, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { ENCRYPTION_ALGORITHMS, type EncryptionAlgorithm } from '../spec/schema.js';
import type { SpecIssue } from '../spec/issues.js';

// ---- DER (ITU-T X.690): only what one certificate needs ----

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v & 0xff);
  const header = n < 0x80 ? [tag, n] : [tag, 0x80 | len.length, ...len];
  return Buffer.concat([Buffer.from(header), body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
/** [n] EXPLICIT, constructed */
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
/** A non-negative INTEGER from its big-endian magnitude, minimal as DER wants it. */
function integer(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(0x02, m[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}
const NULL = Buffer.from([0x05, 0x00]);
const bitString = (bytes: Buffer, unusedBits = 0) => tlv(0x03, Buffer.from([unusedBits]), bytes);
const octetString = (bytes: Buffer) => tlv(0x04, bytes);
const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift((v % 128) | (groups.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-12-04T12:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20261204120000
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

/** Where the value of the DER element at `at` starts and ends. */
function element(der: Buffer, at: number): { tag: number; start: number; end: number } {
  const first = der[at + 1]!;
  let len = first;
  let start = at + 2;
  if (first & 0x80) {
    len = 0;
    for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + der[start + i]!;
    start += first & 0x7f;
  }
  return { tag: der[at]!, start, end: start + len };
}

/** The subjectPublicKey BIT STRING's bytes (after its unused-bits octet) in a SubjectPublicKeyInfo. */
function subjectPublicKey(spki: Buffer): Buffer {
  const outer = element(spki, 0);
  const algorithm = element(spki, outer.start);
  const key = element(spki, algorithm.end);
  return spki.subarray(key.start + 1, key.end);
}

// ---- the certificate ----

const OID = {
  commonName: '2.5.4.3',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
};

/** How each algorithm's key is made and signs (the hash Go's x509 picks for that key: SHA-384 for P-384). */
const ALGORITHMS: Record<EncryptionAlgorithm, { key: { type: 'rsa'; modulusLength: number } | { type: 'ec'; namedCurve: string }; hash: string; signature: Buffer }> = {
  'ECDSA-P256': { key: { type: 'ec', namedCurve: 'P-256' }, hash: 'sha256', signature: seq(oid(OID.ecdsaWithSHA256)) },
  'ECDSA-P384': { key: { type: 'ec', namedCurve: 'P-384' }, hash: 'sha384', signature: seq(oid(OID.ecdsaWithSHA384)) },
  'RSA-2048': { key: { type: 'rsa', modulusLength: 2048 }, hash: 'sha256', signature: seq(oid(OID.sha256WithRSAEncryption), NULL) },
  'RSA-3072': { key: { type: 'rsa', modulusLength: 3072 }, hash: 'sha256', signature: seq(oid(OID.sha256WithRSAEncryption), NULL) },
  'RSA-4096': { key: { type: 'rsa', modulusLength: 4096 }, hash: 'sha256', signature: seq(oid(OID.sha256WithRSAEncryption), NULL) },
};

/** The CA's subject and issuer, and its one DNS name: kubeadm's. */
export const CA_COMMON_NAME = 'kubernetes';
/** kubeadm's CACertificateValidityPeriod: 10 years. */
const VALIDITY_DAYS = 3650;
/** kubeadm's CertificateBackdate: hosts whose clock lags the machine that made the CA by this much still accept it. */
const BACKDATE_MS = 5 * 60_000;

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octetString(value)) : seq(oid(id), octetString(value));
}

/** The TBSCertificate of a self-signed CA for this public key. */
function tbsCertificate(alg: EncryptionAlgorithm, publicKey: KeyObject, now: Date): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = seq(set(seq(oid(OID.commonName), utf8String(CA_COMMON_NAME))));
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000);
  // 16 random bytes, the first with its top bit clear (positive) and its next bit set (minimal): 126 random bits
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  // keyUsage bits 0 digitalSignature, 2 keyEncipherment, 5 keyCertSign: 1010 0100, the last 2 bits unused
  const keyUsage = bitString(Buffer.from([0xa4]), 2);
  // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (what openssl and Go write; an identifier, not a signature)
  const keyId = createHash('sha1').update(subjectPublicKey(spki)).digest();
  return seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ALGORITHMS[alg].signature,
    name, // issuer
    seq(time(notBefore), time(notAfter)),
    name, // subject
    spki,
    explicit(3, seq(
      extension(OID.keyUsage, true, keyUsage),
      extension(OID.basicConstraints, true, seq(bool(true))),
      extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
      extension(OID.subjectAltName, false, seq(tlv(0x82, Buffer.from(CA_COMMON_NAME)))), // [2] dNSName
    )),
  );
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * The files kubeadm reads: the certificate, and the key as kubeadm writes its own (PKCS#1 "RSA PRIVATE KEY", SEC1
 * "EC PRIVATE KEY"; keyutil.ParsePrivateKeyPEM also reads PKCS#8 "PRIVATE KEY", which openssl-made CAs have).
 */
function caFiles(alg: EncryptionAlgorithm, privateKey: KeyObject, tbs: Buffer, signature: Buffer): { cert: string; key: string } {
  const cert = seq(tbs, ALGORITHMS[alg].signature, bitString(signature));
  const key = privateKey.export({ type: ALGORITHMS[alg].key.type === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }) as string;
  return { cert: pem('CERTIFICATE', cert), key };
}

/** A new self-signed cluster CA of this algorithm (blocks while the key is made: 0.1-2 s for RSA; for the CLI). */
export function newClusterCA(alg: EncryptionAlgorithm, now: Date = new Date()): { cert: string; key: string } {
  const a = ALGORITHMS[alg];
  const { publicKey, privateKey } = a.key.type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: a.key.modulusLength }) : generateKeyPairSync('ec', { namedCurve: a.key.namedCurve });
  const tbs = tbsCertificate(alg, publicKey, now);
  return caFiles(alg, privateKey, tbs, sign(a.hash, tbs, privateKey));
}

/** newClusterCA with the key made and the certificate signed on libuv's thread pool: for the REST service. */
export async function newClusterCAAsync(alg: EncryptionAlgorithm, now: Date = new Date()): Promise<{ cert: string; key: string }> {
  const a = ALGORITHMS[alg];
  const { publicKey, privateKey } = await new Promise<{ publicKey: KeyObject; privateKey: KeyObject }>((resolve, reject) => {
    const done = (e: Error | null, publicKey: KeyObject, privateKey: KeyObject) => (e ? reject(e) : resolve({ publicKey, privateKey }));
    if (a.key.type === 'rsa') generateKeyPair('rsa', { modulusLength: a.key.modulusLength }, done);
    else generateKeyPair('ec', { namedCurve: a.key.namedCurve }, done);
  });
  const tbs = tbsCertificate(alg, publicKey, now);
  const signature = await new Promise<Buffer>((resolve, reject) => sign(a.hash, tbs, privateKey, (e, s) => (e ? reject(e) : resolve(s))));
  return caFiles(alg, privateKey, tbs, signature);
}

/**
 * A key's algorithm in kubeadm's spelling (RSA-2048, ECDSA-P256, ...), or a name in the same style for one kubeadm
 * never makes (RSA-1024, ECDSA-P521, ed25519).
 */
export function keyAlgorithm(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return `RSA-${d?.modulusLength}`;
  if (key.asymmetricKeyType === 'ec') {
    const curves: Record<string, string> = { prime256v1: 'ECDSA-P256', secp384r1: 'ECDSA-P384', secp521r1: 'ECDSA-P521' };
    return curves[d?.namedCurve ?? ''] ?? `ECDSA-${d?.namedCurve}`;
  }
  return key.asymmetricKeyType ?? 'unknown';
}

export function isEncryptionAlgorithm(name: string): name is EncryptionAlgorithm {
  return (ENCRYPTION_ALGORITHMS as readonly string[]).includes(name);
}

const PKI_PATH = 'spec.controlPlane.pki.encryptionAlgorithm';

/**
 * The CA of a secrets file, checked before anything is rendered from it: readable, a CA, the key its certificate's,
 * of an algorithm kubeadm makes keys with, and of the spec's algorithm when the spec names one. Issues name
 * secrets-file paths (and the spec's path in the message), never a value.
 *
 * A CA of another algorithm than the spec names is an error, not a warning. kubeadm would accept it: it uses the
 * ca.crt/ca.key it finds without looking further ("kubeadm doesn't validate the existing certificate Authority more
 * than this", phases/certs/certs.go) and signs certificates with keys of the configured algorithm with it. But kubeadm
 * never makes such a cluster itself: the CAs it makes (front-proxy, etcd) and every key follow encryptionAlgorithm,
 * so this CA would be the one key of another kind in a cluster whose spec says otherwise, found by whoever audits
 * it later. Whoever wrote the field meant the whole cluster; whoever did not gets the CA's algorithm (so an
 * existing cluster's RSA CA keeps working with a spec that never named one).
 */
export function checkClusterCA(ca: { cert: string; key: string }, wanted: EncryptionAlgorithm | undefined): SpecIssue[] {
  // by a digest of what it reads, so no key is held as a map key; copies out, so a caller's change stays its own
  const k = createHash('sha256').update(`${wanted ?? ''}\0${ca.cert}\0${ca.key}`).digest('base64');
  let issues = CHECKED.get(k);
  if (!issues) {
    issues = inspectClusterCA(ca, wanted);
    CHECKED.set(k, issues);
    if (CHECKED.size > CHECKED_MAX) CHECKED.delete(CHECKED.keys().next().value!);
  }
  return issues.map((i) => ({ ...i }));
}

/**
 * What {@link checkClusterCA} found for a CA and a wanted algorithm, the newest {@link CHECKED_MAX}: reading the
 * certificate and the key and checking that they pair takes ~0.8 ms, on every validation of a spec whose cluster has
 * a secrets file and on every job's start, for the same few CAs (issue 13: a third of a POST's validation).
 */
const CHECKED = new Map<string, readonly SpecIssue[]>();
const CHECKED_MAX = 64;

function inspectClusterCA(ca: { cert: string; key: string }, wanted: EncryptionAlgorithm | undefined): SpecIssue[] {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(ca.cert);
  } catch {
    return [{ path: 'ca.cert', code: 'invalid', message: 'is not a readable X.509 certificate' }];
  }
  try {
    key = createPrivateKey(ca.key);
  } catch {
    return [{ path: 'ca.key', code: 'invalid', message: 'is not a readable private key' }];
  }
  const issues: SpecIssue[] = [];
  if (!cert.ca) issues.push({ path: 'ca.cert', code: 'invalid', message: 'is not a CA certificate (basicConstraints CA:TRUE): kubeadm refuses it' });
  if (!cert.checkPrivateKey(key)) issues.push({ path: 'ca.key', code: 'invalid', message: 'is not the private key of ca.cert' });
  const alg = keyAlgorithm(key);
  if (!isEncryptionAlgorithm(alg)) {
    issues.push({ path: 'ca.key', code: 'invalid', message: `is an ${alg} key; kubeadm makes keys of ${ENCRYPTION_ALGORITHMS.join(', ')} only, and the cluster CA must be one of them` });
  } else if (wanted !== undefined && alg !== wanted) {
    issues.push({
      path: 'ca.key',
      code: 'mismatch',
      message:
        `is an ${alg} key, but ${PKI_PATH} is ${wanted}: kubeadm would sign ${wanted} certificates with this ${alg} CA ` +
        `and make the front-proxy and etcd CAs ${wanted}. Keep this CA with ${PKI_PATH}: ${alg} (or without the field, ` +
        `which follows the CA); a cluster not installed yet gets a new ${wanted} CA when "ca" is removed from the secrets file`,
    });
  }
  return issues;
}
