// The local executor: the conformance suite on this machine, plus what only `root` (file helpers re-rooted) adds.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/executors/local/local.js';
import { exists, fileSha256, writeFileAtomic } from '../../src/executors/ops.js';
import { executorConformance } from '../../src/executors/conformance.js';

executorConformance('local', () => new LocalExecutor({ host: 'local-test' }));

describe('local executor with a root for file helpers', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'airgap-local-root-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes /etc/... under the root, hashes it there, and leaves the real path alone', async () => {
    const exec = new LocalExecutor({ root });
    await writeFileAtomic(exec, '/etc/airgap-k8s-test/haproxy.cfg', 'global\n', { mode: '0600' });
    const real = join(root, 'etc/airgap-k8s-test/haproxy.cfg');
    expect(readFileSync(real, 'utf8')).toBe('global\n');
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(await fileSha256(exec, '/etc/airgap-k8s-test/haproxy.cfg')).toMatch(/^[0-9a-f]{64}$/);
    expect(await exists(exec, '/etc/airgap-k8s-test/haproxy.cfg')).toBe(true);
    expect(await exists(new LocalExecutor(), '/etc/airgap-k8s-test/haproxy.cfg')).toBe(false);
  });

  it('commands are not re-rooted (documented): `pwd`-independent argv runs as is', async () => {
    const exec = new LocalExecutor({ root });
    expect((await exec.run(['sh', '-c', 'test -d /proc && echo real-root'])).stdout).toBe('real-root\n');
  });

  it('refuses relative paths in file helpers', async () => {
    await expect(writeFileAtomic(new LocalExecutor({ root }), 'etc/x', 'x', { mode: '0644' })).rejects.toThrow(/absolute/);
  });

  it('a stdinFile that cannot be read fails before anything runs', async () => {
    await expect(new LocalExecutor().run(['cat'], { stdinFile: join(root, 'missing') })).rejects.toThrow(/not a readable regular file/);
  });

  it('a stdinFileOffset beyond the file, or without a file, fails before anything runs', async () => {
    const file = join(root, 'five');
    writeFileSync(file, '12345');
    expect((await new LocalExecutor().run(['cat'], { stdinFile: file, stdinFileOffset: 3 })).stdout).toBe('45');
    await expect(new LocalExecutor().run(['cat'], { stdinFile: file, stdinFileOffset: 6 })).rejects.toThrow(/stdinFileOffset 6 is not a byte offset in .* \(0\.\.5\)/);
    await expect(new LocalExecutor().run(['cat'], { stdinFile: file, stdinFileOffset: -1 })).rejects.toThrow(/stdinFileOffset/);
    await expect(new LocalExecutor().run(['cat'], { stdinFileOffset: 0 })).rejects.toThrow(/needs stdinFile/);
  });
});
