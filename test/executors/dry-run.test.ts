// The dry-run executor: records commands, never stdin content, and answers as configured; ops.ts over it shows
// exactly which commands a file write becomes.
import { describe, expect, it } from 'vitest';
import { DryRunExecutor } from '../../src/executors/dry-run/dry-run.js';
import { ExecError } from '../../src/executors/executor.js';
import { fileSha256, writeFileAtomic } from '../../src/executors/ops.js';

const SECRET = '-----BEGIN PRIVATE KEY-----\nTOPSECRETVALUE\n-----END PRIVATE KEY-----\n';

describe('dry-run executor', () => {
  it('records argv, stdin size and sha256 — never stdin content or env values', async () => {
    const d = new DryRunExecutor({ host: 'cp-1' });
    await d.run(['tee', '/etc/x'], { stdin: SECRET, env: { TOKEN: 'ALSOSECRET' }, timeoutMs: 5000 });
    const [rec] = d.records;
    expect(rec).toEqual({
      argv: ['tee', '/etc/x'],
      stdin: { bytes: Buffer.byteLength(SECRET), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      envNames: ['TOKEN'],
      timeoutMs: 5000,
    });
    const everything = JSON.stringify(d.records) + d.script();
    expect(everything).not.toContain('TOPSECRETVALUE');
    expect(everything).not.toContain('ALSOSECRET');
  });

  it("stdinDigest 'none' records the size only", async () => {
    const d = new DryRunExecutor({ stdinDigest: 'none' });
    await d.run(['cat'], { stdin: SECRET });
    expect(d.records[0]!.stdin).toEqual({ bytes: Buffer.byteLength(SECRET) });
    expect(d.script()).toBe(`cat  # stdin: ${Buffer.byteLength(SECRET)} bytes`);
  });

  it('a secret file write is recorded as the write command with the content size only', async () => {
    const d = new DryRunExecutor();
    await writeFileAtomic(d, '/etc/kubernetes/pki/ca.key', SECRET, { mode: '0600', owner: 'root:root' });
    const [rec] = d.records;
    expect(rec!.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(rec!.argv.slice(3, 4)).toEqual(['airgap-write']);
    expect(rec!.argv[4]).toBe('/etc/kubernetes/pki/ca.key');
    expect(rec!.argv[5]).toMatch(/^\/etc\/kubernetes\/pki\/ca\.key\.airgap-tmp\.[0-9a-f]{12}$/);
    expect(rec!.argv.slice(6)).toEqual(['0600', 'root:root', String(Buffer.byteLength(SECRET))]);
    expect(d.script()).toContain(`# stdin: ${Buffer.byteLength(SECRET)} bytes, sha256 `);
    expect(d.script()).not.toContain('TOPSECRETVALUE');
  });

  it('answers with configured results; non-zero exits throw like a real executor unless allowed', async () => {
    const d = new DryRunExecutor({
      host: 'w-1',
      respond: (argv) => (argv[0] === 'sh' && argv[3] === 'airgap-sha256' ? { stdout: 'absent\n' } : argv[0] === 'false' ? { exitCode: 1, stderr: 'nope\n' } : undefined),
    });
    expect(await fileSha256(d, '/etc/haproxy/haproxy.cfg')).toBeNull();
    await expect(d.run(['false'])).rejects.toBeInstanceOf(ExecError);
    await expect(d.run(['false'])).rejects.toThrow(/^w-1: exit code 1: nope \(running `false`\)$/);
    expect((await d.run(['false'], { allowFailure: true })).exitCode).toBe(1);
    const chunks: string[] = [];
    await d.run(['sh', '-c', 'x', 'airgap-sha256', '/p'], { onStdout: (c) => chunks.push(c.toString()) });
    expect(chunks).toEqual(['absent\n']);
  });

  it('default: success with empty output; script() is paste-able', async () => {
    const d = new DryRunExecutor();
    const r = await d.run(['systemctl', 'restart', 'haproxy']);
    expect(r).toMatchObject({ exitCode: 0, stdout: '', stderr: '', timedOut: false, signal: null });
    await d.run(['printf', '%s', "it's $HOME"]);
    expect(d.script()).toBe(`systemctl restart haproxy\nprintf %s 'it'\\''s $HOME'`);
  });

  it('checks arguments as every executor does', async () => {
    const d = new DryRunExecutor();
    await expect(d.run([])).rejects.toThrow(/argv/);
    await expect(d.run(['echo', 'a\0b'])).rejects.toThrow(/NUL/);
    await expect(d.run(['env'], { env: { 'bad-name': 'x' } })).rejects.toThrow(/environment variable name/);
    const ac = new AbortController();
    ac.abort();
    await expect(d.run(['true'], { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(d.records).toEqual([]);
  });
});
