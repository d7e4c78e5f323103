// npm run bench (bundle part): delivery throughput of the bundle distributor over the ssh executor to 1 and 3
// test-bed hosts, against plain `scp` of the same file on the same network at the same time (ratio), and sha256
// verification speed here (bundle verify's read + hash + inspect) and on a host (sha256sum, openssl). Measured, never
// asserted. Needs the test bed (`npm run testbed:setup`, root); prints a skip line without it.
//
// The machine is shared (2 cores, other jobs' load drifting by the minute): ours, scp and the bare transport run
// interleaved, the order turning each round, and the ratio is the median of each round's pair. The CPU each used
// (here and in the host containers' cgroups) is printed too: it moves far less with the load than wall time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { inspectFile } from '../src/bundle/io/inspect.js';
import { uploadFileResumable } from '../src/bundle/io/distribute.js';
import { SshExecutor } from '../src/executors/ssh/ssh.js';
import { cacheDir, createTestbed, type Testbed, type TestbedHost } from '../test/testbed/testbed.js';
import { goal } from './goals.js';

const MiB = 1024 * 1024;
const line = (name: string, value: string) => console.log(`${name.padEnd(44)} ${value}`);

/** Runs argv; resolves with the CPU seconds it and its children used (the shell's `times`). */
function run(argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('sh', ['-c', '"$@" || exit $?; times', 'sh', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', reject);
    c.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${argv[0]} exit ${code}: ${err.trim()}`));
      // the last line of `times`: the children's user and system time, e.g. "0m1.230s 0m0.450s"
      const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim());
      resolve(t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : NaN);
    });
  });
}

const scp = (tb: Testbed, h: TestbedHost, file: string, dest: string) =>
  run(['scp', '-q', '-F', '/dev/null', '-i', tb.privateKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${tb.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null', file, `root@${h.address}:${dest}`]);

/** CPU seconds a host container has used so far (cgroup v1 cpuacct or v2 cpu.stat); NaN where neither is readable. */
function hostCpu(h: TestbedHost): number {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${h.containerId}/cpuacct.usage`;
  if (existsSync(v1)) return Number(readFileSync(v1, 'utf8')) / 1e9;
  const v2 = `/sys/fs/cgroup/system.slice/docker-${h.containerId}.scope/cpu.stat`;
  if (existsSync(v2)) return Number(/usage_usec (\d+)/.exec(readFileSync(v2, 'utf8'))?.[1]) / 1e6;
  return NaN;
}

interface Sample {
  ms: number;
  /** CPU seconds here (this process for ours, scp and its ssh for scp) and in the host containers */
  client: number;
  hosts: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function benchBundle(opts: { sizeMiB?: number; runs?: number } = {}): Promise<void> {
  const sizeMiB = opts.sizeMiB ?? Number(process.env.AIRGAP_K8S_BENCH_BUNDLE_MIB ?? 256);
  const runs = opts.runs ?? 3;
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
      // each resolves with the CPU seconds spent outside this process (scp's), NaN when everything ran in it
      const ours = (n: number) => () =>
        Promise.all(execs.slice(0, n).map((e) => uploadFileResumable(e, file, dest, { size: bytes, sha256: r.artifact.sha256 }, {}, { progressPollMs: 0 }))).then(() => NaN);
      const plain = (n: number) => () => Promise.all(tb.hosts.slice(0, n).map((h) => scp(tb, h, file, dest))).then((cpu) => cpu.reduce((a, b) => a + b, 0));
      // the transport alone: the same executor streaming the file into place, no checks
      const raw = (n: number) => () => Promise.all(execs.slice(0, n).map((e) => e.run(['sh', '-c', 'cat > "$1"', 'raw', dest], { stdinFile: file }))).then(() => NaN);
      for (const n of [1, 3]) {
        const kinds = [ours(n), plain(n), raw(n)];
        const samples: Sample[][] = kinds.map(() => []);
        for (let round = 0; round < runs; round++) {
          for (let k = 0; k < kinds.length; k++) {
            const i = (k + round) % kinds.length;
            await clean();
            const hosts = tb.hosts.slice(0, n);
            const h0 = hosts.map(hostCpu);
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            const elsewhere = await kinds[i]!();
            const ms = performance.now() - t0;
            const c = process.cpuUsage(c0);
            const here = (c.user + c.system) / 1e6;
            samples[i]!.push({ ms, client: Number.isNaN(elsewhere) ? here : elsewhere, hosts: hosts.reduce((a, h, j) => a + hostCpu(h) - h0[j]!, 0) });
          }
        }
        const [o, s, w] = samples.map((xs) => median(xs.map((x) => x.ms)));
        // each round's scp/ours pair met the same load; their median
        const paired = samples[0]!.map((x, j) => samples[1]![j]!.ms / x.ms).sort((a, b) => a - b);
        const rate = (ms: number) => (n * bytes) / MiB / (ms / 1000);
        const cpu = (xs: Sample[]) => `${median(xs.map((x) => x.client)).toFixed(2)} + ${median(xs.map((x) => x.hosts)).toFixed(2)} s`;
        line(
          `bundle upload to ${n} host${n > 1 ? 's' : ''} (${sizeMiB} MiB each)`,
          `${rate(o!).toFixed(0)} MiB/s (sha256-verified on the host)   scp ${rate(s!).toFixed(0)} MiB/s   ours/scp ${median(paired).toFixed(2)} ` +
            `(rounds ${paired.map((x) => x.toFixed(2)).join(' ')})   transport alone ${rate(w!).toFixed(0)} MiB/s (${(s! / w!).toFixed(2)})`,
        );
        goal(`bundle upload to ${n} host${n > 1 ? 's' : ''}: ours/scp speed`, median(paired), 0.95, 'min', 'x');
        line(`  CPU here + in the host${n > 1 ? 's' : ''} (medians)`, `ours ${cpu(samples[0]!)}   scp ${cpu(samples[1]!)}   transport alone ${cpu(samples[2]!)}`);
      }
      // sha256 on a host: the probe that skips a file already there reads it again (the upload hashes as it writes),
      // with openssl where installed, else sha256sum
      await ours(1)();
      for (const argv of [['sha256sum', dest], ['openssl', 'dgst', '-sha256', '-r', dest]]) {
        const th = performance.now();
        await tb.exec(tb.hosts[0]!, argv);
        const hostMs = performance.now() - th;
        line(`${argv.slice(0, -1).join(' ')} on a host (docker exec)`, `${(bytes / MiB / (hostMs / 1000)).toFixed(0)} MiB/s`);
      }
    } finally {
      await Promise.all(execs.map((e) => e.close()));
      await tb.destroy();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
