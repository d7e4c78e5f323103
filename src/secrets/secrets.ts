// The secrets file: everything sensitive that generators need, kept out of the spec (the spec holds references).
// Created with fresh random values (mode 0600) when missing; entries the spec needs but the file lacks are added.
// This module is the one place that makes randomness; generators receive the result as inputs.
import { createHash, randomBytes, randomInt, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { DEFAULT_ENCRYPTION_ALGORITHM, type ClusterSpec, type EncryptionAlgorithm } from '../spec/schema.js';
import { formatPath, type SpecIssue } from '../spec/issues.js';
import type { RenderInputs } from '../generators/types.js';
import { VRRP_PASS, type Secrets } from './types.js';
import { checkClusterCA, isEncryptionAlgorithm, keyAlgorithm, newClusterCA, newClusterCAAsync } from './ca.js';

const Pem = (label: string) =>
  z.string().regex(new RegExp(`^-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n?$`), `must be a PEM ${label}`);

export const SecretsFile = z.strictObject({
  bootstrapToken: z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/, 'must be a kubeadm token: [a-z0-9]{6}.[a-z0-9]{16}'),
  certificateKey: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (32 bytes)'),
  ca: z.strictObject({
    cert: Pem('CERTIFICATE'),
    key: z.string().regex(/^-----BEGIN (RSA |EC )?PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END (RSA |EC )?PRIVATE KEY-----\n?$/, 'must be a PEM private key'),
  }),
  passwords: z.record(z.string(), z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')).default({}),
  sshKeys: z.record(z.string(), z.strictObject({ path: z.string().min(1) })).default({}),
});

/** The password references a spec uses, with the rule each must satisfy. */
export function passwordRefs(spec: ClusterSpec): { ref: string; usedAt: string; kind: 'vrrp' | 'password' }[] {
  const s = spec.spec;
  const refs: { ref: string; usedAt: string; kind: 'vrrp' | 'password' }[] = [];
  const lb = s.controlPlane.loadBalancer;
  if (lb?.mode === 'keepalived-haproxy') refs.push({ ref: lb.authPassRef, usedAt: 'spec.controlPlane.loadBalancer.authPassRef', kind: 'vrrp' });
  if (s.addons.monitoring.enabled) refs.push({ ref: s.addons.monitoring.grafana.adminPasswordRef, usedAt: 'spec.addons.monitoring.grafana.adminPasswordRef', kind: 'password' });
  if (s.apps.dify.enabled) refs.push({ ref: s.apps.dify.secretKeyRef, usedAt: 'spec.apps.dify.secretKeyRef', kind: 'password' });
  s.models.forEach((m, i) => {
    if (m.engine === 'vllm' && m.apiKeyRef) refs.push({ ref: m.apiKeyRef, usedAt: `spec.models[${i}].apiKeyRef`, kind: 'password' });
  });
  return refs;
}

export function sshKeyRefs(spec: ClusterSpec): string[] {
  const s = spec.spec;
  return [...new Set([s.ssh.privateKeyRef, ...s.hosts.map((h) => h.ssh?.privateKeyRef).filter((x): x is string => !!x)])].sort();
}

/** The secrets, or every issue found with their paths in the secrets file (never their values). */
export type SecretsResult = { ok: true; secrets: Secrets } | { ok: false; issues: SpecIssue[] };

/** Parses and checks the text of a secrets file. */
export function parseSecrets(text: string): SecretsResult {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    return { ok: false, issues: [{ path: '', code: 'syntax', message: `secrets file is not valid YAML: ${(e as Error).message.split('\n')[0]}` }] };
  }
  const r = SecretsFile.safeParse(doc);
  // Never echo secret values into messages: zod messages here are the fixed ones above.
  if (!r.success) return { ok: false, issues: r.error.issues.map((i) => ({ path: formatPath(i.path), code: i.code, message: i.message })) };
  return { ok: true, secrets: r.data };
}

/** Every reference the spec makes resolves, and each value fits where it goes. Issues name secrets-file paths. */
export function checkSecretsForSpec(secrets: Secrets, spec: ClusterSpec): SpecIssue[] {
  const issues: SpecIssue[] = checkClusterCA(secrets.ca, spec.spec.controlPlane.pki.encryptionAlgorithm);
  for (const r of passwordRefs(spec)) {
    const v = secrets.passwords[r.ref];
    if (v === undefined) issues.push({ path: `passwords.${r.ref}`, code: 'missing', message: `missing (referenced by ${r.usedAt})` });
    else if (r.kind === 'vrrp' && !VRRP_PASS.test(v)) {
      issues.push({ path: `passwords.${r.ref}`, code: 'invalid', message: 'a VRRP auth_pass must be 1-8 printable characters without quotes, spaces or "$" (keepalived truncates longer ones)' });
    }
  }
  return issues;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM_MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export function newBootstrapToken(): string {
  return `${randomString(ALNUM, 6)}.${randomString(ALNUM, 16)}`;
}

export function newPassword(kind: 'vrrp' | 'password'): string {
  return kind === 'vrrp' ? randomString(ALNUM_MIXED, 8) : randomString(ALNUM_MIXED, 24);
}

/** The algorithm of a CA made for this spec: the one it names, else ECDSA-P256. */
export function newCAAlgorithm(spec: ClusterSpec): EncryptionAlgorithm {
  return spec.spec.controlPlane.pki.encryptionAlgorithm ?? DEFAULT_ENCRYPTION_ALGORITHM;
}

/** Fill whatever the spec needs and `current` lacks. Returns the names of what was added. */
export function completeSecrets(current: Partial<Secrets> | undefined, spec: ClusterSpec): { secrets: Secrets; added: string[] } {
  const added: string[] = [];
  const take = <T>(name: string, have: T | undefined, make: () => T): T => {
    if (have !== undefined) return have;
    added.push(name);
    return make();
  };
  const passwords = { ...(current?.passwords ?? {}) };
  for (const r of passwordRefs(spec)) {
    if (passwords[r.ref] === undefined) {
      passwords[r.ref] = newPassword(r.kind);
      added.push(`passwords.${r.ref}`);
    }
  }
  const sshKeys = { ...(current?.sshKeys ?? {}) };
  for (const ref of sshKeyRefs(spec)) {
    if (sshKeys[ref] === undefined) {
      sshKeys[ref] = { path: ref === 'default' ? '~/.ssh/id_ed25519' : `~/.ssh/${ref}` };
      added.push(`sshKeys.${ref}`);
    }
  }
  return {
    secrets: {
      bootstrapToken: take('bootstrapToken', current?.bootstrapToken, newBootstrapToken),
      certificateKey: take('certificateKey', current?.certificateKey, () => randomBytes(32).toString('hex')),
      ca: take('ca', current?.ca, () => newClusterCA(newCAAlgorithm(spec))),
      passwords,
      sshKeys,
    },
    added,
  };
}

/** The secrets as the text of a secrets file, with a header telling to keep it offline and private. */
export function secretsToYaml(s: Secrets): string {
  return (
    '# airgap-k8s secrets. Keep this file offline and private (mode 0600); the spec refers to its entries by name.\n' +
    yaml.dump(
      { bootstrapToken: s.bootstrapToken, certificateKey: s.certificateKey, ca: s.ca, passwords: s.passwords, sshKeys: s.sshKeys },
      { sortKeys: false, lineWidth: -1 },
    )
  );
}

/** Write atomically with mode 0600 from the first byte. */
export function writeSecretsFile(file: string, s: Secrets): void {
  const tmp = join(dirname(file), `.${Date.now()}.${process.pid}.secrets.tmp`);
  writeFileSync(tmp, secretsToYaml(s), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * Load the secrets file for a spec, creating or completing it as needed.
 * Returns issues (with secrets-file paths, never values) when the file is unusable.
 */
export function loadOrCreateSecrets(
  file: string,
  spec: ClusterSpec,
): { ok: true; secrets: Secrets; created: boolean; added: string[] } | { ok: false; issues: SpecIssue[] } {
  if (!existsSync(file)) {
    const { secrets } = completeSecrets(undefined, spec);
    writeSecretsFile(file, secrets);
    return { ok: true, secrets, created: true, added: [] };
  }
  const parsed = parseSecrets(readFileSync(file, 'utf8'));
  if (!parsed.ok) return parsed;
  const { secrets, added } = completeSecrets(parsed.secrets, spec);
  const issues = checkSecretsForSpec(secrets, spec);
  if (issues.length > 0) return { ok: false, issues };
  if (added.length > 0) writeSecretsFile(file, secrets);
  return { ok: true, secrets, created: false, added };
}

/**
 * loadOrCreateSecrets for a server: a new file's CA is made off the event loop (on libuv's thread pool), so
 * other requests are answered meanwhile. Two callers racing for the same new file both end with the one written.
 */
export async function loadOrCreateSecretsAsync(file: string, spec: ClusterSpec): Promise<ReturnType<typeof loadOrCreateSecrets>> {
  let created = false;
  if (!existsSync(file)) {
    const ca = await newClusterCAAsync(newCAAlgorithm(spec));
    if (!existsSync(file)) {
      writeSecretsFile(file, completeSecrets({ ca }, spec).secrets);
      created = true;
    }
  }
  const r = loadOrCreateSecrets(file, spec);
  return r.ok && created ? { ...r, created } : r;
}

/**
 * Reads an existing secrets file and checks it serves the spec, without writing anything: a missing file, or a secret
 * the spec references and the file lacks, is an issue (unlike {@link loadOrCreateSecrets}, which creates and
 * completes).
 */
export function readSecretsFile(file: string, spec: ClusterSpec): { ok: true; secrets: Secrets } | { ok: false; issues: SpecIssue[] } {
  if (!existsSync(file)) return { ok: false, issues: [{ path: '', code: 'missing', message: `${file} does not exist` }] };
  const parsed = parseSecrets(readFileSync(file, 'utf8'));
  if (!parsed.ok) return parsed;
  const { secrets, added } = completeSecrets(parsed.secrets, spec);
  const issues = [...added.map((a) => ({ path: a, code: 'missing', message: 'missing: the spec needs it and the file does not hold it' })), ...checkSecretsForSpec(secrets, spec)];
  return issues.length > 0 ? { ok: false, issues } : { ok: true, secrets };
}

/** sha256:<hex> over the CA certificate's SubjectPublicKeyInfo (DER), kubeadm's CA pin format. */
export function caCertHash(certPem: string): string {
  return spkiPin(new X509Certificate(certPem).publicKey);
}

function spkiPin(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/**
 * The render inputs every generator takes besides the spec, from the secrets: the secrets, the CA's public key pin
 * and its key's algorithm.
 */
export function inputsFromSecrets(secrets: Secrets): RenderInputs {
  // the certificate read once: every job's start comes here
  const key = new X509Certificate(secrets.ca.cert).publicKey;
  const alg = keyAlgorithm(key);
  return { secrets, caCertHash: spkiPin(key), caAlgorithm: isEncryptionAlgorithm(alg) ? alg : undefined };
}
