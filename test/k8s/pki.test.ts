// Our cluster CA and our kubeadm config's encryptionAlgorithm through the real kubeadm v1.34.3: `kubeadm init phase
// certs all --config <our init file>` with our rendered ca.crt and ca.key (marker text and all, as they land on the
// first control plane) in the certificates directory. kubeadm must keep our CA and make every other key of the
// spec's algorithm, signed by (chaining to) our CA; openssl is the reader. For the default (ECDSA-P256, a new
// cluster's CA) and for RSA-2048 named in the spec. A last case shows why the secrets check refuses a CA of another
// algorithm than the spec names: kubeadm takes it without a word.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCluster, type HostFile } from '../../src/generators/index.js';
import { CA_CERT_PATH, CA_KEY_PATH, KUBEADM_INIT_CONFIG } from '../../src/host-paths.js';
import { checkSecretsForSpec, completeSecrets, inputsFromSecrets } from '../../src/secrets/secrets.js';
import type { Secrets } from '../../src/secrets/types.js';
import type { ClusterSpec, EncryptionAlgorithm } from '../../src/spec/schema.js';
import { loadFixture } from '../support/fixtures.js';
import { run, toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';

let kubeadm = '';
let work = '';

beforeAll(async () => {
  kubeadm = join(await toolchainBin(), 'kubeadm');
  work = mkdtempSync(join(tmpdir(), 'airgap-k8s-pki-'));
}, TOOLCHAIN_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The rehearsal spec (the cluster the e2e tier installs), naming `alg` or nothing. */
function spec(alg: EncryptionAlgorithm | undefined): ClusterSpec {
  const s = structuredClone(loadFixture('rehearsal'));
  if (alg) s.spec.controlPlane.pki.encryptionAlgorithm = alg;
  return s;
}

/**
 * The first control plane's kubeadm-init.yaml, ca.crt and ca.key as rendered, written under a directory of their own;
 * the one change: certificatesDir points into it (kubeadm refuses --cert-dir beside --config).
 */
function materialise(name: string, s: ClusterSpec, secrets: Secrets): { config: string; pki: string } {
  const files = renderCluster(s, inputsFromSecrets(secrets)).filter((f): f is HostFile => f.kind === 'host' && f.host === 'cp1');
  const content = (path: string) => {
    const f = files.find((x) => x.path === path);
    if (!f) throw new Error(`cp1: ${path} not rendered`);
    return f.content;
  };
  const dir = join(work, name);
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const init = content(KUBEADM_INIT_CONFIG);
  const config = init.replace(/^kind: ClusterConfiguration\n/m, `$&certificatesDir: ${pki}\n`);
  expect(config, 'no ClusterConfiguration in the init file').not.toBe(init);
  writeFileSync(join(dir, 'kubeadm-init.yaml'), config, { mode: 0o600 });
  writeFileSync(join(pki, 'ca.crt'), content(CA_CERT_PATH));
  writeFileSync(join(pki, 'ca.key'), content(CA_KEY_PATH), { mode: 0o600 });
  return { config: join(dir, 'kubeadm-init.yaml'), pki };
}

async function certsAll(config: string): Promise<string> {
  const r = await run(kubeadm, ['init', 'phase', 'certs', 'all', '--config', config], { timeoutMs: 60_000 });
  expect(r.code, `${r.command}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** What openssl says of a certificate's key and signature. */
function keyOf(cert: string): { key: string; signature: string } {
  const text = openssl('x509', '-in', cert, '-noout', '-text');
  const signature = /Signature Algorithm: (\S+)/.exec(text)?.[1] ?? '?';
  if (/Public Key Algorithm: id-ecPublicKey/.test(text)) return { key: `ECDSA-${/NIST CURVE: (P-\d+)/.exec(text)?.[1]?.replace('-', '')}`, signature };
  if (/Public Key Algorithm: rsaEncryption/.test(text)) return { key: `RSA-${/Public-Key: \((\d+) bit\)/.exec(text)?.[1]}`, signature };
  return { key: '?', signature };
}

const verify = (ca: string, cert: string) => openssl('verify', '-CAfile', ca, cert).trim();

const cases = [
  { name: 'the default (spec names none): a new ECDSA-P256 CA', alg: undefined, want: 'ECDSA-P256', signature: 'ecdsa-with-SHA256' },
  { name: 'RSA-2048 named in the spec', alg: 'RSA-2048', want: 'RSA-2048', signature: 'sha256WithRSAEncryption' },
] as const;

describe.each(cases)('kubeadm init phase certs all with our CA and config: $name', (c) => {
  let pki = '';
  let ours = '';
  let out = '';

  beforeAll(async () => {
    const s = spec(c.alg);
    // a new cluster's secrets, as the first apply makes them
    const secrets = completeSecrets(undefined, s).secrets;
    expect(checkSecretsForSpec(secrets, s)).toEqual([]);
    ours = secrets.ca.cert;
    const m = materialise(c.alg ?? 'default', s, secrets);
    pki = m.pki;
    expect(readFileSync(m.config, 'utf8')).toContain(`\nencryptionAlgorithm: ${c.want}\n`);
    out = await certsAll(m.config);
  }, 120_000);

  it('keeps our CA (the one every join pins) instead of making one', () => {
    expect(out).toContain('[certs] Using existing ca certificate authority');
    expect(readFileSync(join(pki, 'ca.crt'), 'utf8')).toContain(ours);
    expect(keyOf(join(pki, 'ca.crt'))).toEqual({ key: c.want, signature: c.signature });
  });

  it(`makes apiserver.crt with an ${c.want} key, signed by our CA and chaining to it (openssl verify)`, () => {
    expect(keyOf(join(pki, 'apiserver.crt'))).toEqual({ key: c.want, signature: c.signature });
    expect(verify(join(pki, 'ca.crt'), join(pki, 'apiserver.crt'))).toBe(`${join(pki, 'apiserver.crt')}: OK`);
    expect(verify(join(pki, 'ca.crt'), join(pki, 'apiserver-kubelet-client.crt'))).toMatch(/: OK$/);
    // a negative control: the front-proxy CA is another CA, and openssl tells them apart
    expect(() => verify(join(pki, 'front-proxy-ca.crt'), join(pki, 'apiserver.crt'))).toThrow();
  });

  it(`makes its own CAs and the service-account key ${c.want} too: one algorithm throughout`, () => {
    for (const f of ['front-proxy-ca.crt', 'etcd/ca.crt', 'front-proxy-client.crt', 'etcd/server.crt', 'etcd/peer.crt', 'apiserver-etcd-client.crt']) {
      expect(keyOf(join(pki, f)).key, f).toBe(c.want);
    }
    const sa = openssl('pkey', '-in', join(pki, 'sa.key'), '-noout', '-text');
    expect(sa).toMatch(c.want === 'ECDSA-P256' ? /NIST CURVE: P-256/ : /Private-Key: \(2048 bit/);
  });
});

describe('why a CA of another algorithm than the spec names is refused before kubeadm runs', () => {
  it('kubeadm itself takes an RSA-2048 CA under encryptionAlgorithm ECDSA-P256 silently, and makes a PKI of two algorithms', async () => {
    const rsa = spec('RSA-2048');
    const secrets = completeSecrets(undefined, rsa).secrets;
    const ecdsa = spec('ECDSA-P256');
    expect(checkSecretsForSpec(secrets, ecdsa).map((i) => `${i.path} ${i.code}`)).toEqual(['ca.key mismatch']);
    const { config, pki } = materialise('mixed', ecdsa, secrets);
    const out = await certsAll(config);
    expect(out).toContain('[certs] Using existing ca certificate authority');
    expect(keyOf(join(pki, 'ca.crt')).key).toBe('RSA-2048');
    expect(keyOf(join(pki, 'apiserver.crt'))).toEqual({ key: 'ECDSA-P256', signature: 'sha256WithRSAEncryption' });
    expect(keyOf(join(pki, 'front-proxy-ca.crt')).key).toBe('ECDSA-P256');
  }, 120_000);
});
