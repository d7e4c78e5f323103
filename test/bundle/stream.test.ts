// Verification by the receiving command over real SSH (OpenSSH's sshd on a test-bed host, ssh2 here): the host
// writes the stream into <file>.partial, hashes it in one read and renames only a match into place, in one round
// trip. A stream changed on the way is refused with nothing left in place; a connection killed mid-file resumes from
// what the host kept, the same command verifying kept prefix and rest together; hostile file names reach the host as
// arguments, as root and as a sudo user.
//
// Needs `npm run test:bundle` (root: scripts/testbed/setup.sh first).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePathPresent, uploadBundlePath, uploadFileResumable } from '../../src/bundle/io/distribute.js';
import { makeHostileBundle } from '../../src/bundle/io/testing.js';
import { newManifest } from '../../src/bundle/manifest.js';
import type { Executor, RunOptions, RunResult } from '../../src/executors/executor.js';
import { SshExecutor } from '../../src/executors/ssh/ssh.js';
import { createTestbed, type Testbed } from '../testbed/testbed.js';

const report = (line: string) => console.log(`[bundle-stream] ${line}`);
const BIG = 256 * 1024 * 1024;

/** Records each command's kind and stdin offset; `corrupt` streams get a copy of the file with one byte flipped. */
class Recording implements Executor {
  readonly host: string;
  readonly calls: { kind: string; offset?: number }[] = [];
  constructor(
    private readonly inner: Executor,
    private readonly corrupt?: { file: string; times: number },
  ) {
    this.host = inner.host;
  }
  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const kind = argv[0] === 'sh' ? argv[3]! : argv[0]!;
    this.calls.push(opts.stdinFile !== undefined ? { kind, offset: opts.stdinFileOffset ?? 0 } : { kind });
    if (this.corrupt && this.corrupt.times > 0 && kind === 'airgap-bundle-stream') {
      this.corrupt.times--;
      return this.inner.run(argv, { ...opts, stdinFile: this.corrupt.file });
    }
    return this.inner.run(argv, opts);
  }
  close() {
    return this.inner.close();
  }
}

describe('verified by the receiving command, over ssh to a test-bed host', () => {
  let tb: Testbed;
  let work: string;
  let big: string;
  let bigSha: string;
  const execs: SshExecutor[] = [];
  const ssh = (user: 'root' | 'airgap' = 'root') => {
    const h = tb.hosts[0]!;
    const e = new SshExecutor({ host: h.name, address: h.address, user, privateKeyPath: tb.privateKeyPath, hostKey: { fingerprint: h.hostKeyFingerprint }, keepaliveIntervalMs: 2000 });
    execs.push(e);
    return e;
  };
  const onHost = async (argv: string[]) => (await tb.exec(tb.hosts[0]!, argv, { allowFailure: true, timeoutMs: 120_000 })).stdout;
  // sha256sum starts a line with a backslash when the name holds one
  const sums = async (paths: string[]) => (await onHost(['sha256sum', '--', ...paths])).split('\n').filter(Boolean).map((l) => l.replace(/^\\/, '').slice(0, 64));
  const exists = async (p: string) => (await tb.exec(tb.hosts[0]!, ['test', '-e', p], { allowFailure: true })).exitCode === 0;

  beforeAll(async () => {
    tb = await createTestbed({ name: 'bstream', hosts: ['s1'], log: report });
    work = mkdtempSync(join(tmpdir(), 'bundle-stream-'));
    big = join(work, 'big.bin');
    writeFileSync(big, '');
    const hash = createHash('sha256');
    for (let i = 0; i < BIG / (16 << 20); i++) {
      const chunk = randomBytes(16 << 20);
      hash.update(chunk);
      writeFileSync(big, chunk, { flag: 'a' });
    }
    bigSha = hash.digest('hex');
  }, 300_000);

  afterAll(async () => {
    await Promise.all(execs.map((e) => e.close().catch(() => undefined)));
    if (work) rmSync(work, { recursive: true, force: true });
    if (tb) await tb.destroy();
  }, 180_000);

  it('a stream changed on the way is refused: sha256 mismatch, neither the file nor a .partial left on the host', async () => {
    const size = 32 * 1024 * 1024;
    const good = join(work, 'good.bin');
    const bad = join(work, 'bad.bin');
    const data = readFileSync(big).subarray(0, size);
    writeFileSync(good, data);
    data[size - 1000] = data[size - 1000]! ^ 0x80;
    writeFileSync(bad, data);
    const sha256 = createHash('sha256').update(readFileSync(good)).digest('hex');
    const exec = new Recording(ssh(), { file: bad, times: 2 });
    const target = '/data/k8s/models/corrupt.bin';
    await expect(uploadFileResumable(exec, good, target, { size, sha256 }, {}, { progressPollMs: 0 })).rejects.toThrow(
      /corrupt\.bin\.partial has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; removed/,
    );
    expect(exec.calls.filter((c) => c.kind === 'airgap-bundle-stream')).toEqual([
      { kind: 'airgap-bundle-stream', offset: 0 },
      { kind: 'airgap-bundle-stream', offset: 0 },
    ]);
    expect(await exists(target)).toBe(false);
    expect(await exists(`${target}.partial`)).toBe(false);
  });

  it('a connection killed mid-file resumes from what the host kept and ends verified, kept prefix and rest checked by the receiving command', async () => {
    const exec = new Recording(ssh());
    const target = '/data/k8s/models/big.bin';
    let killedAt: number | undefined;
    let killing: Promise<unknown> | undefined;
    const seen: number[] = [];
    const r = await uploadFileResumable(exec, big, target, { size: BIG, sha256: bigSha }, {}, {
      progressPollMs: 100,
      retryDelayMs: 200,
      onBytes: (n) => {
        seen.push(n);
        if (killedAt === undefined && n >= BIG / 20 && n < BIG / 2) {
          killedAt = n;
          // every per-connection sshd process (the listener stays): the TCP connection dies mid-stream
          killing = tb.exec(tb.hosts[0]!, ['pkill', '-KILL', '-f', '^sshd: root'], { allowFailure: true });
        }
      },
    });
    await killing;
    expect(killedAt, 'the stream was interrupted').toBeDefined();
    expect(r).toMatchObject({ action: 'resumed' });
    expect(r.retries).toBeGreaterThanOrEqual(1);
    expect(r.resumedFrom).toBeGreaterThan(0);
    // stream from 0, cut; the host's partial size asked; the rest streamed from there: no other command touched it
    const streams = exec.calls.filter((c) => c.kind === 'airgap-bundle-stream');
    expect(streams[0]).toEqual({ kind: 'airgap-bundle-stream', offset: 0 });
    const last = streams.at(-1)!.offset!;
    expect(last).toBeGreaterThanOrEqual(r.resumedFrom!);
    expect(r.sent).toBe(BIG - last);
    expect(new Set(exec.calls.map((c) => c.kind))).toEqual(new Set(['airgap-bundle-stream', 'airgap-bundle-partial']));
    expect(await sums([target])).toEqual([bigSha]);
    expect(await exists(`${target}.partial`)).toBe(false);
    // progress never went back to the start after the kill
    expect(Math.min(...seen.slice(seen.indexOf(killedAt!)))).toBeGreaterThan(0);
    report(`killed at ${(killedAt! / 1048576).toFixed(0)} MiB, resumed from ${(r.resumedFrom! / 1048576).toFixed(0)} MiB, ${r.retries} retries`);
    // and a complete file is skipped by the probe's digest
    expect(await uploadBundlePath(ssh(), work, newManifest([{ kind: 'model', name: 'big', path: 'big.bin', size: BIG, sha256: bigSha }]), 'big.bin', target)).toMatchObject({
      sent: 0,
      files: [{ action: 'skipped' }],
    });
  });

  it.each(['root', 'airgap'] as const)('hostile file names reach the host as arguments (%s): uploaded, probed, stale ones removed, nothing run', async (user) => {
    const canary = `/tmp/canary-${user}`;
    const dir = join(work, `hostile-${user}`);
    const { names, manifest } = makeHostileBundle(dir, canary);
    const artifacts = manifest.artifacts;
    const root = `/data/${user}/${names[0]}`;
    const stale = `${root}/models/${names[1]}/* ${names[0]}`;
    await tb.writeFile(tb.hosts[0]!, stale, 'stale');
    const exec = ssh(user);
    const r = await uploadBundlePath(exec, dir, manifest, 'models', `${root}/models`);
    expect(r.removed).toEqual([stale]);
    expect(r.files.map((f) => f.action)).toEqual(artifacts.map(() => 'uploaded'));
    expect(await sums(artifacts.map((a) => `${root}/${a.path}`))).toEqual(artifacts.map((a) => a.sha256));
    expect(await bundlePathPresent(exec, manifest, 'models', `${root}/models`)).toBe(true);
    expect((await uploadBundlePath(exec, dir, manifest, 'models', `${root}/models`)).sent).toBe(0);
    expect(await exists(canary)).toBe(false);
    expect(await exists(stale)).toBe(false);
  });
});
