// Delivery over a real executor: the local one, with each "host" rooted in its own directory (ops.ts hostPath), so
// every command the ssh executor would send runs for real. Dropped connections are simulated by an executor that
// cuts a transfer short and then reports the connection lost, as the ssh executor does.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture, testInputs } from '../../../test/support/fixtures.js';
import { ExecConnectionError, type Executor, type RunOptions, type RunResult } from '../../executors/executor.js';
import { LocalExecutor } from '../../executors/local/local.js';
import { renderView } from '../../generators/index.js';
import { planFor } from '../../plan/build.js';
import type { Plan } from '../../plan/types.js';
import { MemoryJournal } from '../../runner/journal.js';
import { runPlan, type RunEvent } from '../../runner/runner.js';
import { deriveView } from '../../spec/derive.js';
import { bundlePathPresent, distributeBundle, uploadBundlePath, uploadFileResumable, type UploadProgress } from './distribute.js';
import type { BundleManifest } from '../manifest.js';
import { packBundle } from './pack.js';
import { localBundle } from './source.js';
import { makeBundle, makeHostileBundle } from './testing.js';

const tmp = mkdtempSync(join(tmpdir(), 'bundle-dist-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const view = deriveView(loadFixture('runbook-ha'));
const bundle = join(tmp, 'bundle');
let manifest: BundleManifest;
const MODEL = 'models/qwen2.5-7b.gguf';
const MODEL_BYTES = 3 * 1024 * 1024 + 17;

beforeAll(async () => {
  makeBundle(bundle, view, { modelBytes: MODEL_BYTES });
  // a model whose bytes differ along its length, so a misplaced chunk cannot go unnoticed
  const model = Buffer.alloc(MODEL_BYTES);
  for (let i = 0; i < model.length; i++) model[i] = (i * 7919) % 251;
  writeFileSync(join(bundle, MODEL), model);
  const r = await packBundle(bundle);
  expect(r.issues).toEqual([]);
  manifest = r.manifest;
});

let n = 0;
function host(name = `h${++n}`): { exec: LocalExecutor; root: string; at: (p: string) => string } {
  const root = join(tmp, 'hosts', name);
  mkdirSync(root, { recursive: true });
  return { exec: new LocalExecutor({ host: name, root }), root, at: (p) => join(root, p) };
}

/** Cuts the first `times` transfers after `keep` bytes of what each sends, then reports the connection as lost. */
class DroppingExecutor implements Executor {
  readonly host: string;
  readonly fileRoot: string | undefined;
  drops = 0;
  constructor(private readonly inner: LocalExecutor, private keep: number, private times = 1) {
    this.host = inner.host;
    this.fileRoot = inner.fileRoot;
  }
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const kind = argv[3];
    if (this.drops < this.times && kind === 'airgap-bundle-stream') {
      this.drops++;
      const data = readFileSync(opts.stdinFile!).subarray(opts.stdinFileOffset ?? 0);
      const { stdinFile: _f, stdinFileOffset: _o, ...rest } = opts;
      await this.inner.run(argv, { ...rest, stdin: data.subarray(0, this.keep), allowFailure: true });
      throw new ExecConnectionError(this.host, argv, 'connection lost (simulated)', true);
    }
    return this.inner.run(argv, opts);
  }
  close() {
    return this.inner.close();
  }
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const localHash = async (f: string) => {
  await new Promise((r) => setTimeout(r, 50));
  return sha(f);
};

/** A directory for a host's PATH holding only `tools` (links to this machine's), to take one away from a "host". */
function toolsBin(name: string, tools: readonly string[]): string {
  const bin = join(tmp, name);
  mkdirSync(bin, { recursive: true });
  for (const tool of tools) {
    if (!existsSync(join(bin, tool))) symlinkSync(join(existsSync(`/usr/bin/${tool}`) ? '/usr/bin' : '/bin', tool), join(bin, tool));
  }
  return bin;
}

describe('uploadBundlePath', { timeout: 60_000 }, () => {
  it('uploads a directory, verified on the host; a second upload sends nothing', async () => {
    const h = host();
    const progress: UploadProgress[] = [];
    const r = await uploadBundlePath(h.exec, bundle, manifest, 'images', '/data/k8s/images', { onProgress: (p) => progress.push(p) });
    const images = manifest.artifacts.filter((a) => a.path.startsWith('images/'));
    expect(r.files.map((f) => f.action)).toEqual(images.map(() => 'uploaded'));
    for (const a of images) expect(sha(h.at(`/data/k8s/${a.path}`))).toBe(a.sha256);
    expect(progress.at(-1)).toMatchObject({ bytes: progress.at(-1)!.total });
    expect(statSync(h.at(`/data/k8s/${images[0]!.path}`)).mode & 0o777).toBe(0o644);
    const again = await uploadBundlePath(h.exec, bundle, manifest, 'images', '/data/k8s/images');
    expect(again.sent).toBe(0);
    expect(again.files.every((f) => f.action === 'skipped')).toBe(true);
    expect(await bundlePathPresent(h.exec, manifest, 'images', '/data/k8s/images')).toBe(true);
  });

  it('continues a .partial from where the host says it got (stat -c %s), not from the start', async () => {
    const h = host();
    const local = readFileSync(join(bundle, MODEL));
    const half = 1_234_567;
    mkdirSync(h.at('/data/k8s/models'), { recursive: true });
    writeFileSync(h.at(`/data/k8s/${MODEL}.partial`), local.subarray(0, half));
    const r = await uploadBundlePath(h.exec, bundle, manifest, MODEL, `/data/k8s/${MODEL}`);
    expect(r.files).toEqual([{ path: MODEL, action: 'resumed', resumedFrom: half, sent: MODEL_BYTES - half, retries: 0 }]);
    expect(readFileSync(h.at(`/data/k8s/${MODEL}`)).equals(local)).toBe(true);
    expect(existsSync(h.at(`/data/k8s/${MODEL}.partial`))).toBe(false);
  });

  it('a dropped connection mid-transfer: the retry asks the host and appends the rest', async () => {
    const h = host();
    const drop = new DroppingExecutor(h.exec, 2_000_000);
    const r = await uploadBundlePath(drop, bundle, manifest, MODEL, `/data/k8s/${MODEL}`, { retryDelayMs: 1 });
    expect(drop.drops).toBe(1);
    expect(r.files[0]).toMatchObject({ action: 'resumed', resumedFrom: 2_000_000, retries: 1, sent: MODEL_BYTES - 2_000_000 });
    expect(sha(h.at(`/data/k8s/${MODEL}`))).toBe(manifest.artifacts.find((a) => a.path === MODEL)!.sha256);
  });

  it('drops during the resumed appends too; gives up after maxRetries with the error', async () => {
    const h = host();
    const flaky = new DroppingExecutor(h.exec, 100_000, 3);
    const r = await uploadBundlePath(flaky, bundle, manifest, MODEL, `/data/k8s/${MODEL}`, { retryDelayMs: 1 });
    expect(r.files[0]!.retries).toBe(3);
    expect(sha(h.at(`/data/k8s/${MODEL}`))).toBe(manifest.artifacts.find((a) => a.path === MODEL)!.sha256);
    const dead = new DroppingExecutor(host().exec, 10, 100);
    await expect(uploadBundlePath(dead, bundle, manifest, MODEL, `/data/k8s/${MODEL}`, { retryDelayMs: 1, maxRetries: 2 })).rejects.toThrow(/connection lost/);
  });

  it('a .partial that is not a prefix of the file fails the host-side sha256 and is sent again once', async () => {
    const h = host();
    mkdirSync(h.at('/data/k8s/models'), { recursive: true });
    writeFileSync(h.at(`/data/k8s/${MODEL}.partial`), Buffer.alloc(1000, 0xff));
    const r = await uploadBundlePath(h.exec, bundle, manifest, MODEL, `/data/k8s/${MODEL}`);
    expect(r.files[0]).toMatchObject({ action: 'resumed', resumedFrom: 1000 });
    expect(sha(h.at(`/data/k8s/${MODEL}`))).toBe(manifest.artifacts.find((a) => a.path === MODEL)!.sha256);
  });

  it('removes what the bundle does not list from an uploaded directory (a stale kubeadm would be installed too)', async () => {
    const h = host();
    const dir = '/data/k8s/packages/rhel8/kubernetes';
    mkdirSync(h.at(dir), { recursive: true });
    writeFileSync(h.at(`${dir}/kubeadm-1.34.2-1.el8.x86_64.rpm`), 'old');
    writeFileSync(h.at(`${dir}/gone.rpm.partial`), 'old');
    expect(await bundlePathPresent(h.exec, manifest, 'packages/rhel8/kubernetes', dir)).toBe(false);
    const r = await uploadBundlePath(h.exec, bundle, manifest, 'packages/rhel8/kubernetes', dir);
    expect(r.removed.sort()).toEqual([`${dir}/gone.rpm.partial`, `${dir}/kubeadm-1.34.2-1.el8.x86_64.rpm`]);
    expect(await bundlePathPresent(h.exec, manifest, 'packages/rhel8/kubernetes', dir)).toBe(true);
    writeFileSync(h.at(`${dir}/kubeadm-1.34.3-1.el8.x86_64.rpm`), 'tampered');
    expect(await bundlePathPresent(h.exec, manifest, 'packages/rhel8/kubernetes', dir)).toBe(false);
    // a .partial left next to a file that is complete goes too (a resumable one stays while its file is missing)
    await uploadBundlePath(h.exec, bundle, manifest, 'packages/rhel8/kubernetes', dir);
    writeFileSync(h.at(`${dir}/socat-1.0.0-1.el8.x86_64.rpm.partial`), 'old');
    expect(await bundlePathPresent(h.exec, manifest, 'packages/rhel8/kubernetes', dir)).toBe(false);
    expect((await uploadBundlePath(h.exec, bundle, manifest, 'packages/rhel8/kubernetes', dir)).removed).toEqual([`${dir}/socat-1.0.0-1.el8.x86_64.rpm.partial`]);
    expect(await bundlePathPresent(h.exec, manifest, 'packages/rhel8/kubernetes', dir)).toBe(true);
  });

  it('distributeBundle: several hosts at once, each report separate, one failing host does not stop the others', async () => {
    const hosts = [host(), host(), host()];
    const failing = new DroppingExecutor(host('bad').exec, 0, 1000);
    const results = await distributeBundle({
      dir: bundle,
      manifest,
      concurrency: 2,
      retryDelayMs: 1,
      maxRetries: 1,
      targets: [...hosts.map((h) => ({ exec: h.exec as Executor, uploads: [{ localPath: MODEL, remotePath: `/data/k8s/${MODEL}` }] })), { exec: failing, uploads: [{ localPath: MODEL, remotePath: `/m` }] }],
    });
    expect(results.map((r) => [r.host, !!r.report, !!r.error])).toEqual(
      [['bad', false, true], ...hosts.map((h) => [h.exec.host, true, false])].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });
});

/** Records every command; changes a streamed file's bytes on the way (a byte flipped `times` times). */
class RecordingExecutor implements Executor {
  readonly host: string;
  readonly fileRoot: string | undefined;
  readonly calls: { kind: string; offset?: number }[] = [];
  constructor(private readonly inner: Executor, private corrupt = 0, private readonly env?: Record<string, string>) {
    this.host = inner.host;
    this.fileRoot = inner.fileRoot;
  }
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const kind = argv[0] === 'sh' ? argv[3]! : argv[0]!;
    this.calls.push(opts.stdinFile !== undefined ? { kind, offset: opts.stdinFileOffset ?? 0 } : { kind });
    const o = this.env ? { ...opts, env: { ...opts.env, ...this.env } } : opts;
    if (this.corrupt > 0 && kind === 'airgap-bundle-stream') {
      this.corrupt--;
      const data = Buffer.from(readFileSync(opts.stdinFile!).subarray(opts.stdinFileOffset ?? 0));
      const mid = data.length >> 1;
      data[mid] = data[mid]! ^ 0x01;
      const { stdinFile: _f, stdinFileOffset: _o, ...rest } = o;
      return this.inner.run(argv, { ...rest, stdin: data });
    }
    return this.inner.run(argv, o);
  }
  close() {
    return this.inner.close();
  }
}

describe('verified by the command that receives: one read of the bytes on the host', { timeout: 60_000 }, () => {
  const model = () => manifest.artifacts.find((a) => a.path === MODEL)!;

  it('a stream changed on the way is refused: the sha256 differs, nothing is left in place, and it is sent once more', async () => {
    const h = host();
    const bad = new RecordingExecutor(h.exec, 2);
    const target = `/data/k8s/${MODEL}`;
    await expect(uploadFileResumable(bad, join(bundle, MODEL), target, model(), {})).rejects.toThrow(/\.partial has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; removed/);
    expect(bad.calls.filter((c) => c.kind === 'airgap-bundle-stream')).toEqual([{ kind: 'airgap-bundle-stream', offset: 0 }, { kind: 'airgap-bundle-stream', offset: 0 }]);
    expect(existsSync(h.at(target))).toBe(false);
    expect(existsSync(h.at(`${target}.partial`))).toBe(false);
    // once: the second stream arrives intact and is the one renamed into place
    const once = new RecordingExecutor(h.exec, 1);
    expect(await uploadFileResumable(once, join(bundle, MODEL), target, model(), {})).toMatchObject({ action: 'uploaded', sent: MODEL_BYTES });
    expect(sha(h.at(target))).toBe(model().sha256);
  });

  it('a resume sends only the rest; the receiving command verifies kept prefix and rest together, no other command does', async () => {
    const h = host();
    const rec = new RecordingExecutor(new DroppingExecutor(h.exec, 1_500_000));
    const r = await uploadFileResumable(rec, join(bundle, MODEL), `/data/k8s/${MODEL}`, model(), {}, { retryDelayMs: 1 });
    expect(r).toMatchObject({ action: 'resumed', resumedFrom: 1_500_000, retries: 1, sent: MODEL_BYTES - 1_500_000 });
    expect(rec.calls).toEqual([
      { kind: 'airgap-bundle-stream', offset: 0 },
      { kind: 'airgap-bundle-partial' },
      { kind: 'airgap-bundle-stream', offset: 1_500_000 },
    ]);
    expect(sha(h.at(`/data/k8s/${MODEL}`))).toBe(model().sha256);
    expect(existsSync(h.at(`/data/k8s/${MODEL}.partial`))).toBe(false);
  });

  it('a flaky link that gets further each time (1 MiB or more) is not given up on: maxRetries counts failures without progress', async () => {
    const h = host();
    const file = join(tmp, 'twenty.bin');
    const data = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i >> 12) & 0xff;
    writeFileSync(file, data);
    const flaky = new DroppingExecutor(h.exec, 1_500_000, 10);
    const want = { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    const r = await uploadFileResumable(flaky, file, '/data/k8s/twenty.bin', want, {}, { retryDelayMs: 1, maxRetries: 2 });
    expect(r).toMatchObject({ action: 'resumed', retries: 10, resumedFrom: 1_500_000, sent: data.length - 15_000_000 });
    expect(sha(h.at('/data/k8s/twenty.bin'))).toBe(want.sha256);
  });

  it('a .partial that already holds the whole file is verified and renamed without sending a byte', async () => {
    const h = host();
    mkdirSync(h.at('/data/k8s/models'), { recursive: true });
    writeFileSync(h.at(`/data/k8s/${MODEL}.partial`), readFileSync(join(bundle, MODEL)));
    const r = await uploadBundlePath(h.exec, bundle, manifest, MODEL, `/data/k8s/${MODEL}`);
    expect(r.files).toEqual([{ path: MODEL, action: 'resumed', resumedFrom: MODEL_BYTES, sent: 0, retries: 0 }]);
    expect(sha(h.at(`/data/k8s/${MODEL}`))).toBe(model().sha256);
  });

  it("without openssl on the host, coreutils' sha256sum checks the stream (and the probe)", async () => {
    const h = host();
    const bin = toolsBin('no-openssl-bin', ['sh', 'cat', 'tee', 'stat', 'sha256sum', 'cut', 'mkdir', 'dirname', 'chmod', 'mv', 'rm', 'find', 'sed']);
    const rec = new RecordingExecutor(h.exec, 0, { PATH: bin });
    expect((await rec.run(['sh', '-c', 'command -v openssl || echo none'])).stdout.trim()).toBe('none');
    const r = await uploadBundlePath(rec, bundle, manifest, MODEL, `/data/k8s/${MODEL}`);
    expect(r.files[0]).toMatchObject({ action: 'uploaded' });
    expect(sha(h.at(`/data/k8s/${MODEL}`))).toBe(model().sha256);
    expect((await uploadBundlePath(rec, bundle, manifest, MODEL, `/data/k8s/${MODEL}`)).files[0]!.action).toBe('skipped');
    await expect(uploadFileResumable(new RecordingExecutor(h.exec, 2, { PATH: bin }), join(bundle, MODEL), '/data/k8s/again', model(), {})).rejects.toThrow(/expected [0-9a-f]{64}; removed/);
  });

  it('a file of 8 MiB or more is hashed by Python as it arrives; without a Python on the host, by cat and then openssl', async () => {
    const file = join(tmp, 'nine.bin');
    const data = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 512) data[i] = (i >> 9) & 0xff;
    writeFileSync(file, data);
    const want = { size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    // a host PATH whose python3 leaves a mark before it runs the real one; another without any Python
    const tools = ['sh', 'cat', 'stat', 'openssl', 'cut', 'mkdir', 'dirname', 'chmod', 'mv', 'rm'];
    const withPy = toolsBin('py-bin', tools);
    const noPy = toolsBin('no-py-bin', tools);
    const marks = join(tmp, 'python-ran');
    writeFileSync(join(withPy, 'python3'), `#!/bin/sh\necho ran >> '${marks}'\nexec /usr/bin/python3 "$@"\n`, { mode: 0o755 });
    const ran = () => (existsSync(marks) ? readFileSync(marks, 'utf8').split('\n').filter(Boolean).length : 0);

    const h = host();
    expect(await uploadFileResumable(new RecordingExecutor(h.exec, 0, { PATH: withPy }), file, '/data/k8s/nine.bin', want, {})).toMatchObject({ action: 'uploaded', sent: data.length });
    expect(ran()).toBe(1);
    expect(sha(h.at('/data/k8s/nine.bin'))).toBe(want.sha256);
    // a resume: Python hashes the kept prefix from the disk, then the rest as it arrives
    const resumed = await uploadFileResumable(new RecordingExecutor(new DroppingExecutor(h.exec, 5_000_000), 0, { PATH: withPy }), file, '/data/k8s/nine-again.bin', want, {}, { retryDelayMs: 1 });
    expect(resumed).toMatchObject({ action: 'resumed', resumedFrom: 5_000_000, sent: data.length - 5_000_000 });
    expect(sha(h.at('/data/k8s/nine-again.bin'))).toBe(want.sha256);
    // a byte changed on the way: Python's digest differs, nothing is left in place
    await expect(uploadFileResumable(new RecordingExecutor(h.exec, 2, { PATH: withPy }), file, '/data/k8s/nine-bad.bin', want, {})).rejects.toThrow(/expected [0-9a-f]{64}; removed/);
    expect(existsSync(h.at('/data/k8s/nine-bad.bin'))).toBe(false);
    expect(existsSync(h.at('/data/k8s/nine-bad.bin.partial'))).toBe(false);
    const before = ran();
    expect(before).toBeGreaterThanOrEqual(4);

    const bare = new RecordingExecutor(h.exec, 0, { PATH: noPy });
    expect((await bare.run(['sh', '-c', 'command -v python3 || echo none'])).stdout.trim()).toBe('none');
    expect(await uploadFileResumable(bare, file, '/data/k8s/nine-cat.bin', want, {})).toMatchObject({ action: 'uploaded' });
    expect(sha(h.at('/data/k8s/nine-cat.bin'))).toBe(want.sha256);
    await expect(uploadFileResumable(new RecordingExecutor(h.exec, 2, { PATH: noPy }), file, '/data/k8s/nine-cat-bad.bin', want, {})).rejects.toThrow(/expected [0-9a-f]{64}; removed/);
    expect(ran()).toBe(before);
  });

  it('with the local sha256 still being worked out (a promise), the host reports its hash and the file is renamed into place only once ours agrees', async () => {
    const h = host();
    const target = `/data/k8s/${MODEL}`;
    let settle!: (s: string) => void;
    const later = new Promise<string>((r) => (settle = r));
    const rec = new RecordingExecutor(h.exec);
    const up = uploadFileResumable(rec, join(bundle, MODEL), target, { size: MODEL_BYTES, sha256: later }, {});
    // the bytes went out before the hash was known: held as the partial (its mode set already), not yet in place
    await expect.poll(() => rec.calls.length, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => existsSync(h.at(`${target}.partial`)) && statSync(h.at(`${target}.partial`)).size === MODEL_BYTES, { timeout: 20_000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(h.at(target))).toBe(false);
    expect(statSync(h.at(`${target}.partial`)).mode & 0o777).toBe(0o644);
    settle(model().sha256);
    expect(await up).toMatchObject({ action: 'uploaded', sent: MODEL_BYTES, retries: 0 });
    expect(rec.calls).toEqual([{ kind: 'airgap-bundle-stream', offset: 0 }, { kind: 'airgap-bundle-finalize' }]);
    expect(sha(h.at(target))).toBe(model().sha256);
    expect(statSync(h.at(target)).mode & 0o777).toBe(0o644);
    expect(existsSync(h.at(`${target}.partial`))).toBe(false);
  });

  it('a promised sha256 the bytes do not match: removed, sent once more against it, then refused; nothing is left in place', async () => {
    const h = host();
    const target = `/data/k8s/${MODEL}`;
    const rec = new RecordingExecutor(h.exec);
    await expect(uploadFileResumable(rec, join(bundle, MODEL), target, { size: MODEL_BYTES, sha256: new Promise((r) => setTimeout(() => r('0'.repeat(64)), 2000)) }, {})).rejects.toThrow(
      /expected 0{64}; removed/,
    );
    expect(rec.calls.map((c) => c.kind)).toEqual(['airgap-bundle-stream', 'rm', 'airgap-bundle-stream']);
    expect(existsSync(h.at(target))).toBe(false);
    expect(existsSync(h.at(`${target}.partial`))).toBe(false);
    // a stream damaged on the way is caught the same way, and the second one (against the known hash) lands
    const once = new RecordingExecutor(h.exec, 1);
    expect(await uploadFileResumable(once, join(bundle, MODEL), target, { size: MODEL_BYTES, sha256: localHash(join(bundle, MODEL)) }, {})).toMatchObject({ action: 'uploaded' });
    expect(sha(h.at(target))).toBe(model().sha256);
    // a promise that is not a sha256, or that fails, fails the upload with its reason
    await expect(uploadFileResumable(h.exec, join(bundle, MODEL), '/data/k8s/x', { size: MODEL_BYTES, sha256: Promise.resolve('nope') }, {})).rejects.toThrow(/sha256 must be 64 lower-case hex digits/);
    await expect(uploadFileResumable(h.exec, join(bundle, MODEL), '/data/k8s/y', { size: MODEL_BYTES, sha256: Promise.reject(new Error('could not read it')) }, {})).rejects.toThrow(/could not read it/);
    expect(existsSync(h.at('/data/k8s/x'))).toBe(false);
    expect(existsSync(h.at('/data/k8s/y'))).toBe(false);
  });

  it('hostile file names travel as arguments: uploaded, probed, stale ones removed, nothing executed', async () => {
    const h = host();
    const dir = join(tmp, 'hostile-bundle');
    const canary = join(tmp, 'canary');
    const { names, manifest: m } = makeHostileBundle(dir, canary);
    const artifacts = m.artifacts;
    // a stale file with a hostile name in the uploaded directory, and a partial of one of the files
    mkdirSync(h.at(`/data/k8s/models/${names[1]}`), { recursive: true });
    writeFileSync(h.at(`/data/k8s/models/${names[1]}/* ${names[0]}`), 'stale');
    writeFileSync(h.at(`/data/k8s/models/${names[1]}/${names[1]}.partial`), readFileSync(join(dir, artifacts[1]!.path)).subarray(0, 100));
    const r = await uploadBundlePath(h.exec, dir, m, 'models', '/data/k8s/models');
    expect(r.removed).toEqual([`/data/k8s/models/${names[1]}/* ${names[0]}`]);
    expect(r.files.map((f) => f.action).sort()).toEqual(['resumed', 'uploaded', 'uploaded', 'uploaded']);
    for (const a of artifacts) expect(sha(h.at(`/data/k8s/${a.path}`)), a.path).toBe(a.sha256);
    expect(await bundlePathPresent(h.exec, m, 'models', '/data/k8s/models')).toBe(true);
    expect((await uploadBundlePath(h.exec, dir, m, 'models', '/data/k8s/models')).files.every((f) => f.action === 'skipped')).toBe(true);
    expect(existsSync(canary)).toBe(false);
  });
});

describe('the plan over the runner: preflight verification, then uploads', { timeout: 120_000 }, () => {
  const onlyBundle = (plan: Plan): Plan => ({
    ...plan,
    phases: plan.phases
      .filter((p) => p.name === 'preflight' || p.name === 'distribute')
      .map((p) => ({ ...p, steps: p.steps.filter((s) => s.kind === 'verify-bundle' || s.kind === 'upload') })),
  });
  const plan = onlyBundle(planFor(view, testInputs()));
  const roots = new Map<string, string>();
  let base = 'plan-hosts';
  const executor = (h: string) => {
    if (!roots.has(h)) roots.set(h, join(tmp, base, h));
    mkdirSync(roots.get(h)!, { recursive: true });
    return new LocalExecutor({ host: h, root: roots.get(h)! });
  };

  it('uploads each host its parts; a fresh journal later skips them all by probing the hosts', async () => {
    const events: RunEvent[] = [];
    const src = localBundle(view, bundle);
    const r = await runPlan({ plan, files: new Map(), executor, clusterHost: 'master1', journal: new MemoryJournal(), bundle: src, onEvent: (e) => events.push(e) });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(readdirCount(join(roots.get('master3')!, 'data/k8s/images'))).toBe(manifest.artifacts.filter((a) => a.kind === 'image').length);
    expect(existsSync(join(roots.get('gpu1')!, 'data/k8s', MODEL))).toBe(true);
    expect(existsSync(join(roots.get('master2')!, 'data/k8s', MODEL))).toBe(false);
    expect(existsSync(join(roots.get('master1')!, 'data/k8s/bin/helm-v3.19.0'))).toBe(true);
    expect(events.some((e) => e.type === 'step-progress')).toBe(true);
    const second: RunEvent[] = [];
    const r2 = await runPlan({ plan, files: new Map(), executor, clusterHost: 'master1', journal: new MemoryJournal(), bundle: src, onEvent: (e) => second.push(e) });
    expect(r2).toMatchObject({ ok: true, changed: 0 });
    const uploads = plan.phases.flatMap((p) => p.steps).filter((s) => s.kind === 'upload').length;
    expect(second.filter((e) => e.type === 'step-skipped' && e.reason === 'probe').length).toBe(uploads);
  });

  it('an incomplete bundle stops the run in preflight: nothing reaches any host', async () => {
    const broken = join(tmp, 'broken');
    makeBundle(broken, view);
    await packBundle(broken);
    rmSync(join(broken, 'charts/dify-0.37.0.tgz'));
    roots.clear();
    base = 'plan-hosts-broken';
    const r = await runPlan({ plan, files: new Map(), executor, clusterHost: 'master1', journal: new MemoryJournal(), bundle: localBundle(view, broken) });
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => f.stepId)).toEqual(['preflight/local/bundle']);
    expect(r.failures[0]!.error).toMatch(/charts\/dify-0\.37\.0\.tgz: .*missing/);
    for (const root of roots.values()) expect(existsSync(join(root, 'data'))).toBe(false);
  });

  it('without a bundle the run refuses to start', async () => {
    const r = await runPlan({ plan, files: new Map(), executor, clusterHost: 'master1', journal: new MemoryJournal() });
    expect(r.failures[0]!.error).toMatch(/no offline bundle was given to the runner/);
  });
});

describe("push-file (etcd restore's snapshot): the same receiving command checks the plan's sha256", { timeout: 60_000 }, () => {
  const pushPlan = (from: string, sha256: string): Plan => ({
    cluster: 'push',
    phases: [{ name: 'etcd-restore', serial: false, steps: [{ id: 'etcd-restore/cp1/snapshot', phase: 'etcd-restore', host: 'cp1', description: 'put the snapshot on cp1', timeoutMs: 60_000, retry: { attempts: 1, backoffMs: 10 }, kind: 'push-file', from, path: '/var/lib/airgap-k8s-restore/snapshot.db', sha256, mode: 0o600 }] }],
  });

  it('lands 0600 with the planned sha256; a file changed since the plan is refused, saying so, and nothing is left on the host', async () => {
    const h = host('cp1-push');
    const from = join(tmp, 'snapshot.db');
    writeFileSync(from, Buffer.alloc(2 * 1024 * 1024 + 3, 7));
    const planned = sha(from);
    const r = await runPlan({ plan: pushPlan(from, planned), files: new Map(), executor: () => h.exec, clusterHost: 'cp1', journal: new MemoryJournal() });
    expect(r.failures).toEqual([]);
    const onHost = h.at('/var/lib/airgap-k8s-restore/snapshot.db');
    expect(sha(onHost)).toBe(planned);
    expect(statSync(onHost).mode & 0o777).toBe(0o600);
    expect(statSync(h.at('/var/lib/airgap-k8s-restore')).mode & 0o777).toBe(0o755);
    rmSync(onHost);
    writeFileSync(from, 'another snapshot');
    const changed = await runPlan({ plan: pushPlan(from, planned), files: new Map(), executor: () => h.exec, clusterHost: 'cp1', journal: new MemoryJournal() });
    expect(changed.failures.map((f) => f.error)).toEqual([expect.stringMatching(new RegExp(`snapshot\\.db changed since the plan was made: sha256 ${sha(from)}, the plan has ${planned}`))]);
    expect(readdirSync(h.at('/var/lib/airgap-k8s-restore'))).toEqual([]);
    // cut short: what arrived so far waits as a 0600 partial (the umask of the receiving command), never readable
    writeFileSync(from, Buffer.alloc(2 * 1024 * 1024 + 3, 7));
    const cut = uploadFileResumable(new DroppingExecutor(h.exec, 1_000_000), from, '/var/lib/airgap-k8s-restore/cut.db', { size: statSync(from).size, sha256: planned, mode: '0644' }, {}, { maxRetries: 0 });
    await expect(cut).rejects.toThrow(/connection lost/);
    expect(statSync(h.at('/var/lib/airgap-k8s-restore/cut.db.partial'))).toMatchObject({ size: 1_000_000 });
    expect(statSync(h.at('/var/lib/airgap-k8s-restore/cut.db.partial')).mode & 0o777).toBe(0o600);
  });
});

function readdirCount(dir: string): number {
  return readdirSync(dir).length;
}
