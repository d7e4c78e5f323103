// The service off loopback: HTTPS with a given certificate (the real server process on 127.0.0.1, judged by
// `openssl s_client` and by Node's https), the self-signed certificate made at the first start on a non-loopback
// address (the real server in a network namespace of its own, on a veth address), plain HTTP refused off loopback
// unless --insecure-http, and the CLI client trusting a server by --ca-file or --tls-fingerprint.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/api/config.js';
import { isLoopback, normalizeFingerprint, subjectAltNames } from '../../src/api/tls.js';
import { run } from '../../src/cli/commands.js';
import { capture } from '../support/capture.js';
import { FIXTURES, ROOT } from '../support/fixtures.js';
import { freePort } from '../support/ports.js';

const TOKEN = 'tls-test-token-0123456789abcdef';
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** The CLI as a process (node + tsx), optionally wrapped (unshare ...). */
function spawnCli(args: string[], env: Record<string, string>, wrap: string[] = []): Proc {
  const argv = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args];
  const [cmd, ...rest] = [...wrap, ...argv] as [string, ...string[]];
  const child = spawn(cmd, rest, { cwd: ROOT, env: { ...process.env, AIRGAP_K8S_TOKEN: TOKEN, AIRGAP_K8S_EXECUTOR: 'dry-run', ...env } });
  children.push(child);
  let err = '';
  child.stdout.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exited };
}

async function waitFor(cond: () => boolean, ms: number, what: string, p?: Proc): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}${p ? `\noutput:\n${p.stderr().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A throwaway CA and a server certificate it signs for 127.0.0.1 and tls-test.local, made with openssl. */
function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const ossl = (...a: string[]) => execFileSync('openssl', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=tls test CA');
  ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=tls-test.local');
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:tls-test.local,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ossl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('server.crt'));
  chmodSync(f('server.key'), 0o600);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** openssl s_client's whole output for a handshake (and nothing sent). */
async function sClient(port: number, host: string, extra: string[], wrap: string[] = []): Promise<string> {
  const argv = ['openssl', 's_client', '-connect', `${host}:${port}`, '-showcerts', ...extra];
  const [cmd, ...rest] = [...wrap, ...argv] as [string, ...string[]];
  const child = execFile(cmd, rest, { timeout: 20_000 });
  child.stdin!.end();
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on('exit', r));
  return out;
}

/** The first certificate s_client shows: what the server presented. */
const presented = (sOut: string) => new X509Certificate(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----/.exec(sOut)![0]);

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca, servername: 'tls-test.local' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('which listen addresses are loopback (plain HTTP stays the default only there)', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.10.20.30', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['192.168.1.10', false],
    ['128.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
    ['api.example.internal', false],
    ['localhost.example.com', false],
  ])('%s -> %s', (host, loopback) => expect(isLoopback(host)).toBe(loopback));

  it('the certificate names: the listen address, or every non-loopback IPv4 address for a wildcard, and the hostname', () => {
    const interfaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4' }, { address: '::1', family: 'IPv6' }],
      eth0: [{ address: '10.0.0.7', family: 'IPv4' }, { address: 'fe80::1', family: 'IPv6' }],
      eth1: [{ address: '192.168.5.2', family: 'IPv4' }],
    };
    expect(subjectAltNames('0.0.0.0', { hostname: 'Node-1', interfaces })).toEqual({ ips: ['10.0.0.7', '192.168.5.2'], dns: ['node-1'] });
    expect(subjectAltNames('::', { hostname: 'node-1', interfaces })).toEqual({ ips: ['10.0.0.7', '192.168.5.2'], dns: ['node-1'] });
    expect(subjectAltNames('10.0.0.7', { hostname: 'node-1', interfaces })).toEqual({ ips: ['10.0.0.7'], dns: ['node-1'] });
    expect(subjectAltNames('api.internal', { hostname: 'node-1', interfaces })).toEqual({ ips: [], dns: ['api.internal', 'node-1'] });
  });

  it('fingerprints: colon-separated or plain hex, any case, with or without openssl\'s prefix', () => {
    const canonical = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
    for (const s of [canonical, canonical.toLowerCase(), canonical.replace(/:/g, ''), `sha256 Fingerprint=${canonical}`]) expect(normalizeFingerprint(s)).toBe(canonical);
    for (const s of ['', 'AB:CD', canonical.slice(3), `${canonical}:00`, canonical.replace('0', 'g')]) expect(normalizeFingerprint(s)).toBeUndefined();
  });
});

describe('serve settings for TLS', () => {
  let certs: ReturnType<typeof makeCerts>;
  beforeAll(() => {
    certs = makeCerts(mkdtempSync(join(tmpdir(), 'tls-cfg-')));
  });

  it('off loopback without --insecure-http never plain HTTP: a generated certificate; with it plain HTTP; on loopback plain HTTP', () => {
    expect(resolveConfig({}, { listen: '0.0.0.0:8443' }, '/srv')).toMatchObject({ ok: true, config: { tls: { kind: 'generated', dir: '/srv/data/tls' } } });
    expect(resolveConfig({ AIRGAP_K8S_LISTEN: '10.1.2.3:8443' }, {}, '/srv')).toMatchObject({ ok: true, config: { tls: { kind: 'generated' } } });
    expect(resolveConfig({ AIRGAP_K8S_INSECURE_HTTP: '1' }, { listen: '[::]:8080' }, '/srv')).toMatchObject({ ok: true, config: { tls: { kind: 'off', insecure: true } } });
    expect(resolveConfig({}, { listen: '10.1.2.3:80', 'insecure-http': true }, '/srv')).toMatchObject({ ok: true, config: { tls: { kind: 'off', insecure: true } } });
    expect(resolveConfig({}, {}, '/srv')).toMatchObject({ ok: true, config: { tls: { kind: 'off', insecure: false } } });
    expect(resolveConfig({}, { listen: 'localhost:8080' }, '/srv')).toMatchObject({ ok: true, config: { tls: { kind: 'off', insecure: false } } });
    expect(resolveConfig({ AIRGAP_K8S_TLS_CERT: certs.cert }, { 'tls-key': certs.key }, '/')).toMatchObject({ ok: true, config: { tls: { kind: 'files', certFile: certs.cert, keyFile: certs.key } } });
  });

  it('every TLS setting error at once: a lone cert, a group-readable key, a missing file, --insecure-http with a certificate, a bad env value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-bad-'));
    const open = join(dir, 'open.key');
    writeFileSync(open, readFileSync(certs.key));
    chmodSync(open, 0o640);
    expect(resolveConfig({}, { 'tls-cert': certs.cert }, '/')).toMatchObject({ ok: false, errors: [expect.stringContaining('--tls-cert and --tls-key (AIRGAP_K8S_TLS_CERT, AIRGAP_K8S_TLS_KEY) go together')] });
    const r = resolveConfig({ AIRGAP_K8S_INSECURE_HTTP: 'yes' }, { 'tls-cert': join(dir, 'missing.crt'), 'tls-key': open, 'insecure-http': true }, '/');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors).toEqual([
        'AIRGAP_K8S_INSECURE_HTTP must be 1 or 0 (got "yes")',
        '--insecure-http and --tls-cert/--tls-key contradict each other: give one of them',
        `${join(dir, 'missing.crt')}: cannot read the TLS certificate (ENOENT)`,
        `${open}: the TLS key is readable by group or others (mode 0640); chmod 600 it`,
      ]);
    }
  });

  it('serve refuses to start with a key others can read: exit 2 and the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-serve-'));
    const open = join(dir, 'world.key');
    writeFileSync(open, readFileSync(certs.key));
    chmodSync(open, 0o644);
    const io = capture();
    expect(await run(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--tls-cert', certs.cert, '--tls-key', open], io)).toBe(2);
    expect(io.err).toBe(`airgap-k8s serve: ${open}: the TLS key is readable by group or others (mode 0644); chmod 600 it\n`);
  });
});

describe('the real server process with a given certificate on 127.0.0.1', () => {
  let certs: ReturnType<typeof makeCerts>;
  let server: Proc;
  let port: number;
  let url: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-proc-'));
    certs = makeCerts(dir);
    port = await freePort();
    url = `https://127.0.0.1:${port}`;
    server = spawnCli(['serve', '--listen', `127.0.0.1:${port}`, '--tls-cert', certs.cert, '--tls-key', certs.key], { AIRGAP_K8S_DATA_DIR: join(dir, 'data') });
    await waitFor(() => server.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen', server);
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('logs an https URL and the fingerprint; openssl s_client verifies the chain against the CA; Node https GET /healthz -> 200', async () => {
    const fp = new X509Certificate(readFileSync(certs.cert)).fingerprint256;
    expect(server.stderr()).toContain(`"url":"${url}"`);
    expect(server.stderr()).toContain(`"tlsFingerprint":"sha256 Fingerprint=${fp}"`);

    const ok = await sClient(port, '127.0.0.1', ['-servername', 'tls-test.local', '-CAfile', certs.ca, '-verify_return_error', '-verify_ip', '127.0.0.1']);
    expect(ok).toContain('Verify return code: 0 (ok)');
    expect(presented(ok).fingerprint256).toBe(fp);
    // without the CA the same chain does not verify: the check above is a real one
    const untrusted = await sClient(port, '127.0.0.1', ['-servername', 'tls-test.local', '-CAfile', certs.cert]);
    expect(untrusted).not.toContain('Verify return code: 0 (ok)');

    expect(await httpsGet(`${url}/healthz`, readFileSync(certs.ca, 'utf8'))).toMatchObject({ status: 200 });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow(); // no plain HTTP on the TLS port
  });

  it('the CLI client: apply follows the event stream over https (--ca-file); status with the right fingerprint, the wrong one, none', async () => {
    const fp = new X509Certificate(readFileSync(certs.cert)).fingerprint256;
    const apply = capture();
    const code = await run(['apply', join(FIXTURES, 'valid-runbook-ha.yaml'), '--server', url, '--token', TOKEN, '--executor', 'dry-run', '--ca-file', certs.ca], apply);
    expect(apply.err).toMatch(/install \w{26} of cluster/);
    expect(code).toBe(0);
    expect(apply.out).toMatch(/\ndone in [\d.]+s: \d+ changed/);
    const id = /install (\w{26}) of cluster/.exec(apply.err)![1]!;

    const pinned = capture();
    expect(await run(['status', id, '--server', url, '--token', TOKEN, '--tls-fingerprint', fp.replace(/:/g, '').toLowerCase()], pinned)).toBe(0);
    expect(pinned.out).toContain(`${id}  cluster "gpu-prod"  succeeded`);

    const byCa = capture();
    expect(await run(['status', id, '--server', url, '--token', TOKEN], byCa)).toBe(1); // the test CA is not a system CA
    expect(byCa.err).toContain(`the certificate of 127.0.0.1:${port} is not trusted`);
    expect(byCa.err).toContain('give --ca-file FILE or --tls-fingerprint SHA256');

    const wrong = 'AB:'.repeat(31) + 'AB';
    const mismatch = capture();
    const requestsBefore = server.stderr().split(`"path":"/clusters/${id}"`).length;
    expect(await run(['status', id, '--server', url, '--token', TOKEN, '--tls-fingerprint', wrong], mismatch)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.stderr().split(`"path":"/clusters/${id}"`).length).toBe(requestsBefore); // the request (and token) never left
    expect(mismatch.err).toBe(
      `cannot reach ${url}: TLS fingerprint mismatch for 127.0.0.1:${port}: the server presented sha256 Fingerprint=${fp}, but --tls-fingerprint expects sha256 Fingerprint=${wrong}\n`,
    );
    expect(mismatch.out).toBe('');

    // the wrong pin also stops a follower at once instead of reconnecting for a minute
    const t0 = Date.now();
    const follow = capture();
    expect(await run(['apply', join(FIXTURES, 'valid-runbook-ha.yaml'), '--server', url, '--token', TOKEN, '--executor', 'dry-run', '--tls-fingerprint', wrong], follow)).toBe(1);
    expect(follow.err).toContain('TLS fingerprint mismatch');
    expect(Date.now() - t0).toBeLessThan(5_000);

    const bad = capture();
    expect(await run(['status', id, '--server', url, '--token', TOKEN, '--tls-fingerprint', 'abc'], bad)).toBe(2);
    expect(bad.err).toContain('--tls-fingerprint must be a SHA-256 fingerprint');
    const plain = capture();
    expect(await run(['status', id, '--server', `http://127.0.0.1:${port}`, '--token', TOKEN, '--ca-file', certs.ca], plain)).toBe(2);
    expect(plain.err).toContain('--ca-file and --tls-fingerprint need an https:// server URL');
  });
});

// Root and unshare(1) make a network namespace with nothing but loopback and a veth pair: its address 10.99.0.1
// stands in for a machine's network interface. Server and clients (nsenter into the server's namespace) talk only
// there; nothing reaches a real network.
const NS_ADDR = '10.99.0.1';
const canNetns = process.getuid?.() === 0 && spawnSync('unshare', ['--net', 'true']).status === 0;
const IN_NETNS = [
  'unshare', '--net', 'bash', '-c',
  `ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add ${NS_ADDR}/24 dev v0 && ip link set v0 up && ip link set v1 up && exec "$@"`,
  'netns',
];
const nsenter = (p: Proc) => ['nsenter', '-t', String(p.child.pid), '-n'];

/** curl inside the server's namespace: the HTTP status, or the curl error. */
async function curlIn(p: Proc, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await promisify(execFile)(nsenter(p)[0]!, [...nsenter(p).slice(1), 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', ...args]);
    return { code: 0, out: r.stdout };
  } catch (e) {
    const x = e as { code?: number; stderr?: string };
    return { code: x.code ?? -1, out: x.stderr ?? '' };
  }
}

describe.skipIf(!canNetns)(`the generated certificate: the real server in a network namespace of its own (a veth address, ${NS_ADDR}, stands in for a NIC)`, () => {
  it('made at the first start on a non-loopback address, fingerprint printed = what the handshake sees, reused at the next start; plain HTTP only with --insecure-http', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tls-gen-')), 'data');
    const certFile = join(dataDir, 'tls', 'server.crt');
    const t0 = Date.now();
    const s1 = spawnCli(['serve', '--listen', `${NS_ADDR}:8443`], { AIRGAP_K8S_DATA_DIR: dataDir }, IN_NETNS);
    await waitFor(() => s1.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen', s1);
    const firstStartMs = Date.now() - t0;
    expect(s1.stderr()).toContain(`"url":"https://${NS_ADDR}:8443"`);
    expect(s1.stderr()).toContain(`generated a self-signed TLS certificate, ${certFile}`);
    const printed = /^sha256 Fingerprint=([0-9A-F:]{95})$/m.exec(s1.stderr())?.[1];
    expect(printed).toBeDefined();
    expect(s1.stderr().split(`sha256 Fingerprint=${printed}`).length - 1).toBe(3); // the announcement, the log lines "generated" and "listening"

    // the files: ECDSA P-256, 825 days, the address as an IP SAN and the hostname as a DNS SAN; key 0600 in a 0700 dir
    const cert = new X509Certificate(readFileSync(certFile));
    expect(cert.fingerprint256).toBe(printed);
    expect(cert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(cert.subjectAltName).toBe(`DNS:${hostname().toLowerCase()}, IP Address:${NS_ADDR}`);
    expect(Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000)).toBe(825);
    expect(cert.ca).toBe(false);
    expect(statSync(join(dataDir, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'tls')).mode & 0o777).toBe(0o700);

    // openssl verifies the handshake with the certificate file as the only trust anchor, and sees the printed fingerprint
    const s = await sClient(8443, NS_ADDR, ['-CAfile', certFile, '-verify_ip', NS_ADDR, '-verify_return_error'], nsenter(s1));
    expect(s).toContain('Verify return code: 0 (ok)');
    expect(presented(s).fingerprint256).toBe(printed);
    expect(await curlIn(s1, ['--cacert', certFile, `https://${NS_ADDR}:8443/healthz`])).toEqual({ code: 0, out: '200' });
    expect((await curlIn(s1, [`http://${NS_ADDR}:8443/healthz`])).code).not.toBe(0); // no plain HTTP

    // the CLI in the namespace, pinned by the printed fingerprint: it reaches the server (404: no such install)
    const st = spawnCli(['status', 'NO-SUCH-ID', '--server', `https://${NS_ADDR}:8443`, '--token', TOKEN, '--tls-fingerprint', printed!], {}, nsenter(s1));
    expect(await st.exited).toBe(2);
    expect(st.stderr()).toContain('404 not_found');

    s1.child.kill('SIGTERM');
    expect(await s1.exited).toBe(0);

    // the next start reuses it: same fingerprint, nothing announced
    const s2 = spawnCli(['serve', '--listen', `${NS_ADDR}:8443`], { AIRGAP_K8S_DATA_DIR: dataDir }, IN_NETNS);
    await waitFor(() => s2.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen again', s2);
    expect(s2.stderr()).not.toContain('generated a self-signed TLS certificate');
    expect(s2.stderr()).toContain(`"tlsFingerprint":"sha256 Fingerprint=${printed}"`);
    expect(presented(await sClient(8443, NS_ADDR, [], nsenter(s2))).fingerprint256).toBe(printed);
    s2.child.kill('SIGTERM');
    expect(await s2.exited).toBe(0);

    // --insecure-http: plain HTTP, with a warning, and no certificate made
    const plainDir = join(mkdtempSync(join(tmpdir(), 'tls-plain-')), 'data');
    const s3 = spawnCli(['serve', '--listen', `${NS_ADDR}:8080`, '--insecure-http'], { AIRGAP_K8S_DATA_DIR: plainDir }, IN_NETNS);
    await waitFor(() => s3.stderr().includes('"msg":"listening"'), 30_000, 'the plain server to listen', s3);
    expect(s3.stderr()).toContain(`WARNING: serving plain HTTP on ${NS_ADDR} (--insecure-http)`);
    expect(s3.stderr()).toContain(`"url":"http://${NS_ADDR}:8080"`);
    expect(await curlIn(s3, [`http://${NS_ADDR}:8080/healthz`])).toEqual({ code: 0, out: '200' });
    s3.child.kill('SIGTERM');
    expect(await s3.exited).toBe(0);
    expect(existsSync(join(plainDir, 'tls'))).toBe(false);
    console.log(`generated TLS certificate: first start with openssl key generation ${firstStartMs} ms, fingerprint ${printed}`);
  }, 120_000);

  it('0.0.0.0: the certificate names every non-loopback IPv4 address of the machine (here the veth one) and the hostname', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tls-any-')), 'data');
    const s = spawnCli(['serve', '--listen', '0.0.0.0:8443'], { AIRGAP_K8S_DATA_DIR: dataDir }, IN_NETNS);
    await waitFor(() => s.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen', s);
    const cert = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt')));
    expect(cert.subjectAltName).toBe(`DNS:${hostname().toLowerCase()}, IP Address:${NS_ADDR}`);
    const hs = await sClient(8443, NS_ADDR, ['-CAfile', join(dataDir, 'tls', 'server.crt'), '-verify_ip', NS_ADDR, '-verify_return_error'], nsenter(s));
    expect(hs).toContain('Verify return code: 0 (ok)');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  }, 60_000);
});
