// The secrets file and the cluster CA it holds, against the spec: a new CA follows the spec's encryptionAlgorithm
// (ECDSA-P256 when it names none), and a CA that contradicts the spec, or that kubeadm could not use, is refused with
// the secrets-file path and the spec's path, never a value.
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFixture } from '../../test/support/fixtures.js';
import type { ClusterSpec, EncryptionAlgorithm } from '../spec/schema.js';
import { keyAlgorithm, newClusterCA } from './ca.js';
import { checkSecretsForSpec, completeSecrets, inputsFromSecrets, loadOrCreateSecrets, loadOrCreateSecretsAsync, writeSecretsFile } from './secrets.js';
import type { Secrets } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'airgap-k8s-secrets-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function specNaming(alg: EncryptionAlgorithm | undefined): ClusterSpec {
  const spec = structuredClone(loadFixture('runbook-ha'));
  if (alg) spec.spec.controlPlane.pki.encryptionAlgorithm = alg;
  return spec;
}
const algorithmOf = (ca: { key: string }) => keyAlgorithm(createPrivateKey(ca.key));
const withCA = (ca: Secrets['ca']): Secrets => ({ ...completeSecrets({ ca }, specNaming(undefined)).secrets });

describe('a new cluster CA', () => {
  it('is ECDSA-P256 when the spec names no algorithm, and of the algorithm it names otherwise', () => {
    expect(algorithmOf(completeSecrets(undefined, specNaming(undefined)).secrets.ca)).toBe('ECDSA-P256');
    expect(algorithmOf(completeSecrets(undefined, specNaming('ECDSA-P384')).secrets.ca)).toBe('ECDSA-P384');
  });

  it('made by the server off the event loop: the file 0600, the CA of the spec\'s algorithm, its algorithm in the render inputs', async () => {
    const file = join(dir, 'new.secrets.yaml');
    const r = await loadOrCreateSecretsAsync(file, specNaming('ECDSA-P384'));
    expect(r.ok && r.created).toBe(true);
    if (!r.ok) return;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(algorithmOf(r.secrets.ca)).toBe('ECDSA-P384');
    expect(readFileSync(file, 'utf8')).toContain('-----BEGIN EC PRIVATE KEY-----');
    expect(inputsFromSecrets(r.secrets).caAlgorithm).toBe('ECDSA-P384');
  });
});

describe('the CA of a secrets file against the spec', () => {
  const p384 = newClusterCA('ECDSA-P384');

  it('a spec that names no algorithm takes the CA\'s; one that names the CA\'s is fine', () => {
    expect(checkSecretsForSpec(withCA(p384), specNaming(undefined))).toEqual([]);
    expect(checkSecretsForSpec(withCA(p384), specNaming('ECDSA-P384'))).toEqual([]);
  });

  it('a CA of another algorithm than the spec names is an error at ca.key naming the spec\'s path and both algorithms', () => {
    const issues = checkSecretsForSpec(withCA(p384), specNaming('ECDSA-P256'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'ca.key', code: 'mismatch' });
    expect(issues[0]!.message).toMatch(/^is an ECDSA-P384 key, but spec\.controlPlane\.pki\.encryptionAlgorithm is ECDSA-P256: /);
    expect(issues[0]!.message).toContain('spec.controlPlane.pki.encryptionAlgorithm: ECDSA-P384');
    // ... and so does the file, when read
    const file = join(dir, 'mismatch.secrets.yaml');
    writeSecretsFile(file, withCA(p384));
    const r = loadOrCreateSecrets(file, specNaming('ECDSA-P256'));
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(['ca.key']);
  });

  it('a CA kubeadm could not use is refused, whatever the spec says; no message holds a value', () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const made = (name: string, ...args: string[]) => {
      const [crt, key] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
      openssl('req', '-x509', '-nodes', '-days', '1', '-subj', '/CN=kubernetes', '-keyout', key, '-out', crt, ...args);
      return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
    };
    const other = newClusterCA('ECDSA-P384');
    const cases: [Secrets['ca'], string, RegExp][] = [
      [made('ed25519', '-newkey', 'ed25519'), 'ca.key', /^is an ed25519 key; kubeadm makes keys of ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096 only/],
      [made('p521', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'), 'ca.key', /^is an ECDSA-P521 key/],
      [made('leaf', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-addext', 'basicConstraints=critical,CA:FALSE'), 'ca.cert', /^is not a CA certificate/],
      [{ cert: p384.cert, key: other.key }, 'ca.key', /^is not the private key of ca\.cert$/],
      [{ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: p384.key }, 'ca.cert', /^is not a readable X\.509 certificate$/],
      [{ cert: p384.cert, key: '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n' }, 'ca.key', /^is not a readable private key$/],
    ];
    for (const [ca, path, message] of cases) {
      const issues = checkSecretsForSpec(withCA(ca), specNaming(undefined));
      expect(issues.map((i) => [i.path, i.code]), message.source).toEqual([[path, 'invalid']]);
      expect(issues[0]!.message).toMatch(message);
      const body = (pem: string) => pem.split('\n')[1]!;
      for (const i of issues) expect(i.message).not.toContain(body(ca.key));
    }
  });
});
