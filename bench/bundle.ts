// npm run bench (bundle part): delivery throughput of the bundle distributor over the ssh executor to 1 and 3
// test-bed hosts, against plain `scp` of the same file on the same network at the same time (ratio), and sha256
// verification speed here (bundle verify's read + hash + inspect) and on a host (sha256sum). Measured, never
// asserted. Needs the test bed (`npm run testbed:setup`, root); prints a skip line without it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { inspectFile } from '../src/bundle/io/inspect.js';
import { uploadFileResumable } from '../src/bundle/io/distribute.js';
import { SshExecutor } from '../src/executors/ssh/ssh.js';
import { cacheDir, createTestbed, type Testbed, type TestbedHost } from '../test/testbed/testbed.js';

const MiB = 1024 * 1024;
const line = (name: string, value: string) => console.log(`${name.padEnd(44)} ${value}`);

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exit ${code}: ${err.trim()}`))));
  });
}

const scp = (tb: Testbed, h: TestbedHost, file: string, dest: string) =>
  run(['scp', '-q', '-F', '/dev/null', '-i', tb.privateKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${tb.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', file, `root@${h.address}:${dest}`]);

async function best(times: number, fn: () => Promise<void>, reset: () => Promise<void>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < times; i++) {
    await reset();
    const t = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

export async function benchBundle(opts: { sizeMiB?: number; runs?: number } = {}): Promise<void> {
  const sizeMiB = opts.sizeMiB ?? Number(process.env.AIRGAP_K8S_BENCH_BUNDLE_MIB ?? 256);
  const runs = opts.runs ?? 2;
  const work = mkdtempSync(join(tmpdir(), 'bench-bundle-'));
  const file = join(work, 'payload.bin');
  writeFileSync(file, '');
  for (let i = 0; i < sizeMiB / 16; i++) writeFileSync(file, randomBytes(16 * MiB), { flag: 'a' });
  const bytes = sizeMiB * MiB;
  try {
    // sha256 here: what `bundle verify` does per file (read, hash, inspect)
    const t = performance.now();
    const r = await inspectFile(file, 'models/payload.bin');
    const localMs = performance.now() - t;
    line('bundle verify sha256 (local, read+hash)', `${(bytes / MiB / (localMs / 1000)).toFixed(0)} MiB/s  (${sizeMiB} MiB in ${localMs.toFixed(0)} ms)`);

    if (!existsSync(join(cacheDir(), 'testbed.json')) || process.getuid?.() !== 0) {
      line('bundle upload vs scp', 'skipped: needs the test bed (npm run testbed:setup, as root)');
      return;
    }
    const tb = await createTestbed({ name: 'bench', hosts: 3 });
    const execs = tb.hosts.map(
      (h) => new SshExecutor({ host: h.name, address: h.address, user: 'root', privateKeyPath: tb.privateKeyPath, hostKey: { fingerprint: h.hostKeyFingerprint } }),
    );
    try {
      const dest = '/var/tmp/payload.bin';
      const clean = () => Promise.all(tb.hosts.map((h) => tb.exec(h, ['rm', '-f', dest, `${dest}.partial`]))).then(() => undefined);
      const ours = (n: number) => () =>
        Promise.all(execs.slice(0, n).map((e) => uploadFileResumable(e, file, dest, { size: bytes, sha256: r.artifact.sha256 }, {}, { progressPollMs: 0 }))).then(() => undefined);
      const plain = (n: number) => () => Promise.all(tb.hosts.slice(0, n).map((h) => scp(tb, h, file, dest))).then(() => undefined);
      // the transport alone: the same executor streaming the file into place, no checks
      const raw = (n: number) => () => Promise.all(execs.slice(0, n).map((e) => e.run(['sh', '-c', 'cat > "$1"', 'raw', dest], { stdinFile: file }))).then(() => undefined);
      for (const n of [1, 3]) {
        const o = await best(runs, ours(n), clean);
        const s = await best(runs, plain(n), clean);
        const w = await best(runs, raw(n), clean);
        const rate = (ms: number) => (n * bytes) / MiB / (ms / 1000);
        line(
          `bundle upload to ${n} host${n > 1 ? 's' : ''} (${sizeMiB} MiB each)`,
          `${rate(o).toFixed(0)} MiB/s (sha256-verified on the host)   scp ${rate(s).toFixed(0)} MiB/s   ours/scp ${(s / o).toFixed(2)}   ` +
            `transport alone ${rate(w).toFixed(0)} MiB/s (${(s / w).toFixed(2)})`,
        );
      }
      // sha256 on a host (the check after each transfer, and the probe that skips a file already there)
      await ours(1)();
      const th = performance.now();
      await tb.exec(tb.hosts[0]!, ['sha256sum', dest]);
      const hostMs = performance.now() - th;
      line('sha256sum on a host (docker exec)', `${(bytes / MiB / (hostMs / 1000)).toFixed(0)} MiB/s`);
    } finally {
      await Promise.all(execs.map((e) => e.close()));
      await tb.destroy();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
