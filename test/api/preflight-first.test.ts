// No host is contacted before the local preflight has passed (issue 16): POST /clusters?executor=ssh for three hosts
// with an incomplete offline bundle fails at preflight/local/bundle with ZERO connections to the hosts. The hosts are TCP
// listeners on loopback addresses (127.0.0.2-4, the spec's ssh port) that record every connection; the control at
// the end shows the same executor settings do reach them, so zero is a real observation.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executorsFor } from '../../src/install/index.js';
import { completeSecrets, parseSecrets, writeSecretsFile } from '../../src/secrets/secrets.js';
import { deriveView } from '../../src/spec/derive.js';
import { parseSpec } from '../../src/spec/load.js';
import { FIXTURES, renderInputsOnlyBundle } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';
import { harness, type Harness, until } from './harness.js';

const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('preflight first: nothing reaches a host before the local checks pass', () => {
  const servers: Server[] = [];
  const connections: string[] = [];
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
    for (const s of servers) s.close();
  });

  it('POST /clusters?executor=ssh with an incomplete bundle: failed at preflight/local/bundle, no connection to any host', async () => {
    const port = await freePort(ADDRESSES[0]);
    for (const a of ADDRESSES) {
      const s = createServer((sock) => {
        connections.push(`${a} <- ${sock.remoteAddress}`);
        sock.destroy();
      });
      await new Promise<void>((res, rej) => s.once('error', rej).listen(port, a, () => res()));
      servers.push(s);
    }
    const dir = mkdtempSync(join(tmpdir(), 'preflight-first-'));
    const bundleDir = join(dir, 'inputs-only-bundle');
    const spec = `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: preflight-first}
spec:
  hosts:
    - {name: cp1, address: ${ADDRESSES[0]}, roles: [control-plane], interface: lo, os: debian12}
    - {name: w1, address: ${ADDRESSES[1]}, roles: [worker], interface: lo, os: debian12}
    - {name: w2, address: ${ADDRESSES[2]}, roles: [worker], interface: lo, os: debian12}
  ssh: {user: root, port: ${port}, privateKeyRef: default}
  offline: {bundleDir: ${bundleDir}}
  addons:
    dashboard: {enabled: false}
    gpuOperator: {enabled: false}
    monitoring: {enabled: false}
`;
    const parsed = parseSpec(spec);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    renderInputsOnlyBundle(deriveView(parsed.spec), bundleDir);
    h = harness({ defaultExecutor: 'ssh' });
    // a usable private key (TEST-ONLY, made here), so a connection attempt would really be made
    const keyFile = join(dir, 'id_rsa');
    writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey, { mode: 0o600 });
    const base = parseSecrets(readFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), 'utf8'));
    if (!base.ok) throw new Error('test secrets invalid');
    const secrets = completeSecrets({ ...base.secrets, sshKeys: { default: { path: keyFile } } }, parsed.spec).secrets;
    writeSecretsFile(join(h.secretsDir, 'preflight-first.secrets.yaml'), secrets);

    const r = await h.post('/clusters?executor=ssh', spec);
    expect(r.status, await r.clone().text()).toBe(202);
    const { id } = (await r.json()) as { id: string };
    await until(() => ['failed', 'succeeded'].includes(h!.store.get(id)!.status), 60_000, 'the install to end');
    const rec = h.store.get(id)!;
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatch(/^preflight\/local\/bundle on \S+: .*inputs-only-bundle/);
    expect(connections).toEqual([]);

    // control: the very executor the job would have made connects to the listener
    const view = deriveView(parsed.spec);
    const e = executorsFor('ssh', view, secrets, { knownHostsFile: join(dir, 'known_hosts') }).get(view.hosts[1]!.name);
    await expect(e.run(['true'], { timeoutMs: 10_000 })).rejects.toThrow();
    await e.close();
    expect(connections.length).toBeGreaterThanOrEqual(1);
    expect(connections[0]).toBe(`${ADDRESSES[1]} <- 127.0.0.1`);
  }, 90_000);
});
