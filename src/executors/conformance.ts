/**
 * `airgap-k8s/executors/conformance`: THE executor conformance suite (like hono's `common.case.test.ts`). Every
 * built-in executor runs these same cases against a real target, and so can yours: call
 * {@link executorConformance} at the top level of a vitest test file with a factory for your executor.
 *
 * ```ts
 * // my-executor.test.ts, run with `vitest run`
 * import { executorConformance } from 'airgap-k8s/executors/conformance';
 * import { MyExecutor } from './my-executor.js';
 * executorConformance('my executor', () => new MyExecutor({ host: 'node1' }));
 * ```
 *
 * The suite only talks to the target through the executor (temp dirs, pgrep, stat all run there), so it applies
 * unchanged to any way of reaching a host. The target needs a POSIX shell with coreutils, `pgrep`, `sha256sum`,
 * `seq`, `mktemp` and `/tmp`; it checks exit codes, stdin and stdout (20 MB), arguments that break string-built
 * shell text, environment variables, timeouts and aborts that stop the whole process tree, concurrency, and the
 * file operations of `airgap-k8s/executors` (atomic writes and modes) over your `run`.
 *
 * Needs vitest (an optional peer dependency: install it in the project whose tests call this).
 *
 * @module executors/conformance
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecError, prettyCommand, type Executor, type RunResult } from './executor.js';
import { exists, fileDigest, fileSha256, readFile, statFile, uploadFile, writeFileAtomic } from './ops.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A string no other process on the machine has in its command line. */
const marker = () => `${randomInt(100_000, 999_999)}${randomInt(100_000, 999_999)}`;

/** Arguments that break anything that concatenates strings into shell text (each must arrive verbatim). */
export const NASTY_ARGS = [
  'plain',
  'two words',
  "it's",
  'say "hi"',
  '$HOME',
  '${PATH}',
  '`id`',
  '$(id)',
  'a;b',
  'a && b || c',
  'a | b > c < d',
  'line1\nline2',
  'tab\there',
  'ünïcødé ✓ 日本語 🚀',
  '*',
  '?',
  '~',
  '-n',
  '--',
  '',
  ' ',
  '\\',
  "'",
  '"',
  "'\"'\"'",
  '#not a comment',
  '!event',
  'a=b',
];

/** How to run the suite against a target. */
export interface ConformanceOptions {
  /** extra time for targets with slow round trips (ms added to per-case bounds) */
  slackMs?: number;
}

/**
 * Registers the suite as a vitest `describe` block named `executor conformance: <name>`. `make` is called once,
 * before the first case; the executor is closed after the last. Call it at the top level of a test file.
 */
export function executorConformance(name: string, make: () => Promise<Executor> | Executor, options: ConformanceOptions = {}): void {
  const slack = options.slackMs ?? 0;

  describe(`executor conformance: ${name}`, () => {
    let exec: Executor;
    let dir: string;
    let isRoot = false;
    let localTmp: string;

    /** processes on the target whose command line matches the marker (the [x] trick keeps pgrep/sudo out) */
    const running = async (mark: string): Promise<string[]> => {
      const r = await exec.run(['pgrep', '-af', `[s]leep 30\\.${mark}`], { allowFailure: true });
      return r.stdout.split('\n').filter(Boolean);
    };
    /** poll (bounded) until no process matches; returns what was still there at the end */
    const goneWithin = async (mark: string, ms: number): Promise<string[]> => {
      const until = Date.now() + ms;
      let left = await running(mark);
      while (left.length && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        left = await running(mark);
      }
      return left;
    };

    beforeAll(async () => {
      localTmp = mkdtempSync(join(tmpdir(), 'airgap-conformance-local-'));
      exec = await make();
      dir = (await exec.run(['mktemp', '-d', '/tmp/airgap-conformance.XXXXXX'])).stdout.trim();
      expect(dir).toMatch(/^\/tmp\/airgap-conformance\./);
      isRoot = (await exec.run(['id', '-u'])).stdout.trim() === '0';
    }, 30_000);

    afterAll(async () => {
      if (localTmp) rmSync(localTmp, { recursive: true, force: true });
      if (!exec) return;
      if (dir) await exec.run(['rm', '-rf', '--', dir], { allowFailure: true });
      await exec.close();
    }, 30_000);

    describe('exit codes and output', () => {
      it('reports exit codes 0, 1 and 42', async () => {
        for (const code of [0, 1, 42]) {
          const r = await exec.run(['sh', '-c', `exit ${code}`], { allowFailure: true });
          expect(r.exitCode).toBe(code);
          expect(r.timedOut).toBe(false);
          expect(r.signal).toBeNull();
        }
      });

      it('throws ExecError with the host and the cause first (exit code, stderr tail), then the command briefly; the whole paste-able command in .command', async () => {
        const argv = ['sh', '-c', "echo 'it broke' >&2; exit 3"];
        const err = await exec.run(argv).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(ExecError);
        const e = err as ExecError;
        expect(e.result.exitCode).toBe(3);
        expect(e.message).toContain(`${exec.host}:`);
        expect(e.message).toContain('exit code 3');
        expect(e.message).toContain('it broke');
        expect(e.message).toMatch(new RegExp(`^${exec.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: exit code 3: it broke \\(running \``));
        // the whole command, pasted into a shell, does the same thing again
        const pasted = e.command;
        expect(pasted).toBe(prettyCommand(argv));
        const again = await exec.run(['sh', '-c', pasted!], { allowFailure: true });
        expect(again.exitCode).toBe(3);
        expect(again.stderr).toBe('it broke\n');
      });

      it('a missing command exits 127', async () => {
        const r = await exec.run([`airgap-k8s-no-such-command-${marker()}`], { allowFailure: true });
        expect(r.exitCode).toBe(127);
      });

      it('keeps stdout and stderr apart', async () => {
        const r = await exec.run(['sh', '-c', 'printf out1; printf err1 >&2; printf out2; printf err2 >&2']);
        expect(r.stdout).toBe('out1out2');
        expect(r.stderr).toBe('err1err2');
      });

      it('streams output while the command runs', async () => {
        const t0 = performance.now();
        let firstAt = -1;
        const seen: string[] = [];
        const r = await exec.run(['sh', '-c', 'echo first; sleep 1; echo second; echo e >&2'], {
          onStdout: (c) => {
            if (firstAt < 0) firstAt = performance.now() - t0;
            seen.push(c.toString());
          },
          onStderr: (c) => seen.push(`[err]${c.toString()}`),
        });
        expect(r.stdout).toBe('first\nsecond\n');
        expect(seen.join('')).toContain('first\n');
        expect(seen.join('')).toContain('[err]e\n');
        expect(firstAt).toBeGreaterThanOrEqual(0);
        expect(r.durationMs).toBeGreaterThanOrEqual(1000);
        // the first line arrived well before the command ended (not buffered to the end)
        expect(firstAt).toBeLessThan(r.durationMs - 500);
      });

      it('returns 20 MB of stdout intact while stderr also carries megabytes (no truncation, no deadlock)', async () => {
        const n = 2_500_000;
        const r = await exec.run(['sh', '-c', `seq 1 1000000 >&2; seq 1 ${n}`], { timeoutMs: 60_000 });
        const seq = (k: number) => `${Array.from({ length: k }, (_, i) => i + 1).join('\n')}\n`;
        const expected = seq(n);
        expect(r.stdout.length).toBe(expected.length);
        expect(r.stdout.length).toBeGreaterThan(18_000_000);
        expect(sha256(r.stdout)).toBe(sha256(expected));
        expect(sha256(r.stderr)).toBe(sha256(seq(1_000_000)));
      }, 90_000);
    });

    describe('stdin', () => {
      it('delivers binary stdin byte-exact (every byte value)', async () => {
        const data = Buffer.alloc(256 * 64);
        for (let i = 0; i < data.length; i++) data[i] = i % 256;
        const r = await exec.run(['sha256sum'], { stdin: data });
        expect(r.stdout.split(' ')[0]).toBe(sha256(data));
      });

      it('delivers a 5 MB random payload byte-exact', async () => {
        const data = randomBytes(5 * 1024 * 1024);
        const r = await exec.run(['sha256sum'], { stdin: data, timeoutMs: 60_000 });
        expect(r.stdout.split(' ')[0]).toBe(sha256(data));
        const n = await exec.run(['wc', '-c'], { stdin: data, timeoutMs: 60_000 });
        expect(n.stdout.trim()).toBe(String(data.length));
      }, 90_000);

      it('delivers text stdin as UTF-8', async () => {
        const text = 'héllo\n✓ "quotes" $x\n';
        const r = await exec.run(['cat'], { stdin: text });
        expect(r.stdout).toBe(text);
      });

      it('streams a local file as stdin (stdinFile)', async () => {
        const data = randomBytes(5 * 1024 * 1024 + 7);
        const file = join(localTmp, 'payload.bin');
        writeFileSync(file, data);
        const r = await exec.run(['sha256sum'], { stdinFile: file, timeoutMs: 60_000 });
        expect(r.stdout.split(' ')[0]).toBe(sha256(data));
      }, 90_000);

      it('streams a local file from a byte offset (stdinFileOffset: the rest of a resumed upload)', async () => {
        const data = randomBytes(3 * 1024 * 1024 + 11);
        const file = join(localTmp, 'payload-offset.bin');
        writeFileSync(file, data);
        const at = 1024 * 1024 + 5;
        const r = await exec.run(['sha256sum'], { stdinFile: file, stdinFileOffset: at, timeoutMs: 60_000 });
        expect(r.stdout.split(' ')[0]).toBe(sha256(data.subarray(at)));
        const end = await exec.run(['wc', '-c'], { stdinFile: file, stdinFileOffset: data.length, timeoutMs: 60_000 });
        expect(end.stdout.trim()).toBe('0');
      }, 90_000);

      it('a command that reads none of its stdinFile ends, and the file is not left open here', async () => {
        const file = join(localTmp, 'payload-unread.bin');
        writeFileSync(file, randomBytes(24 * 1024 * 1024));
        const r = await exec.run(['true'], { stdinFile: file, timeoutMs: 60_000 });
        expect(r.exitCode).toBe(0);
        // this process's descriptors on the file (the ssh executor reads it in a thread of this process)
        const open = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === file; } catch { return false; } }).length : 0);
        for (let i = 0; i < 100 && open() > 0; i++) await new Promise((res) => setTimeout(res, 50));
        expect(open()).toBe(0);
      }, 90_000);

      it('closes stdin when none is given (a reader does not hang)', async () => {
        const r = await exec.run(['cat'], { timeoutMs: 10_000 + slack });
        expect(r.stdout).toBe('');
        expect(r.timedOut).toBe(false);
        const e = await exec.run(['wc', '-c'], { stdin: '', timeoutMs: 10_000 + slack });
        expect(e.stdout.trim()).toBe('0');
      });
    });

    describe('arguments and environment arrive verbatim', () => {
      it.each(NASTY_ARGS.map((a) => [JSON.stringify(a), a]))('printf %%s %s', async (_label, arg) => {
        const r = await exec.run(['printf', '%s', arg]);
        expect(r.stdout).toBe(arg);
      });

      it('all arguments at once keep their boundaries and count', async () => {
        const r = await exec.run(['sh', '-c', 'for a; do printf "%s\\0" "$a"; done', 'sh', ...NASTY_ARGS]);
        expect(r.stdout.split('\0').slice(0, -1)).toEqual(NASTY_ARGS);
      });

      it('passes environment variables verbatim', async () => {
        const value = `it's a "test" $HOME \`id\` $(id) ; | & \n second line ü ✓`;
        const r = await exec.run(['sh', '-c', 'printf %s "$AIRGAP_TEST_VALUE"; printf "|%s" "$AIRGAP_EMPTY"'], {
          env: { AIRGAP_TEST_VALUE: value, AIRGAP_EMPTY: '' },
        });
        expect(r.stdout).toBe(`${value}|`);
      });
    });

    describe('timeouts and abort stop the whole process tree', () => {
      // Each command prints "started" first, and the test checks it: a timeout that fires before the command even
      // ran (a busy machine, a slow session start) would prove nothing about killing it.
      const TIMEOUT = 3000;

      it('times out: the result says so and the processes are gone', async () => {
        const m = marker();
        const t0 = performance.now();
        const r = await exec.run(['sh', '-c', `echo started; sleep 30.${m}; echo never`], { timeoutMs: TIMEOUT, allowFailure: true });
        const took = performance.now() - t0;
        expect(r.stdout).toBe('started\n');
        expect(r.timedOut).toBe(true);
        expect(r.exitCode === 0).toBe(false);
        expect(took).toBeGreaterThanOrEqual(TIMEOUT - 50);
        expect(took).toBeLessThan(TIMEOUT + 5_000 + slack);
        expect(await goneWithin(m, 2_000)).toEqual([]);
      }, 30_000);

      it('a timeout without allowFailure throws ExecError saying "timed out"', async () => {
        const m = marker();
        const err = await exec.run(['sh', '-c', `echo started; exec sleep 30.${m}`], { timeoutMs: TIMEOUT }).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(ExecError);
        expect((err as ExecError).result.stdout).toBe('started\n');
        expect((err as ExecError).result.timedOut).toBe(true);
        expect((err as Error).message).toContain('timed out');
        expect(await goneWithin(m, 2_000)).toEqual([]);
      }, 30_000);

      it('escalates to SIGKILL when the command ignores SIGTERM (bounded)', async () => {
        const m = marker();
        const t0 = performance.now();
        const r = await exec.run(['sh', '-c', `trap "" TERM; echo started; sleep 30.${m}; true`], { timeoutMs: TIMEOUT, allowFailure: true });
        const took = performance.now() - t0;
        expect(r.stdout).toBe('started\n');
        expect(r.timedOut).toBe(true);
        expect(took).toBeLessThan(TIMEOUT + 8_000 + slack);
        expect(await goneWithin(m, 2_000)).toEqual([]);
      }, 30_000);

      it('aborts via AbortSignal: rejects with AbortError and the processes are gone', async () => {
        const m = marker();
        const ac = new AbortController();
        let abortedAt = 0;
        const err = await exec
          .run(['sh', '-c', `echo started; sleep 30.${m} & sleep 30.${m}; wait`], {
            signal: ac.signal,
            allowFailure: true,
            onStdout: () => {
              setTimeout(() => {
                abortedAt = performance.now();
                ac.abort(new Error('user cancelled'));
              }, 200);
            },
          })
          .then(
            (r: RunResult) => r,
            (e: unknown) => e,
          );
        expect(abortedAt).toBeGreaterThan(0);
        expect((err as Error).name).toBe('AbortError');
        expect(performance.now() - abortedAt).toBeLessThan(5_000 + slack);
        expect(await goneWithin(m, 2_000)).toEqual([]);
      }, 30_000);

      it('an already aborted signal runs nothing', async () => {
        const ac = new AbortController();
        ac.abort();
        const f = `${dir}/must-not-exist-${marker()}`;
        const err = await exec.run(['touch', f], { signal: ac.signal }).then(() => undefined, (e: unknown) => e);
        expect((err as Error).name).toBe('AbortError');
        expect(await exists(exec, f)).toBe(false);
      });
    });

    describe('concurrency', () => {
      it('runs 20 commands at once, each with its own result', async () => {
        const rs = await Promise.all(
          Array.from({ length: 20 }, (_, i) => exec.run(['sh', '-c', 'sleep 0.3; printf "%s" "$1"; printf "e%s" "$1" >&2', 'sh', String(i)], { timeoutMs: 30_000 })),
        );
        rs.forEach((r, i) => {
          expect(r.stdout).toBe(String(i));
          expect(r.stderr).toBe(`e${i}`);
        });
      }, 40_000);
    });

    describe('file operations (ops.ts over run)', () => {
      it('writes and reads back a path with spaces, quotes, $, backticks, ;, a newline and unicode', async () => {
        const path = `${dir}/new dir/a b'c"$d\`e\`;f\ng ü.conf`;
        const content = `key = "value"\n$not_expanded \`nor this\`\n`;
        await writeFileAtomic(exec, path, content, { mode: '0644' });
        expect((await readFile(exec, path)).toString('utf8')).toBe(content);
        expect(await fileSha256(exec, path)).toBe(sha256(content));
        expect(await exists(exec, path)).toBe(true);
        expect((await statFile(exec, path))?.mode).toBe('644');
        // the write step's probe: mode and digest in one call; null for no file, and a directory is no file
        expect(await fileDigest(exec, path)).toEqual({ mode: 0o644, sha256: sha256(content) });
        expect(await fileDigest(exec, `${path}.absent`)).toBeNull();
        expect(await fileDigest(exec, `${dir}/new dir`)).toBeNull();
        // the parent was created with ordinary permissions, not the 077 umask used for the temp file
        expect((await statFile(exec, `${dir}/new dir`))?.mode).toBe('755');
      });

      it('round-trips binary content exactly', async () => {
        const data = Buffer.alloc(70_000);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
        await writeFileAtomic(exec, `${dir}/binary.bin`, data, { mode: '0600' });
        expect((await readFile(exec, `${dir}/binary.bin`)).equals(data)).toBe(true);
      });

      it('sets the mode (0600, 0644, 0755, 0640) and replaces a file with a looser mode', async () => {
        for (const mode of ['0644', '0600', '0755', '0640', '0600']) {
          await writeFileAtomic(exec, `${dir}/modes`, `mode ${mode}\n`, { mode });
          const st = await statFile(exec, `${dir}/modes`);
          expect(st?.mode).toBe(mode.replace(/^0/, ''));
          expect((await readFile(exec, `${dir}/modes`)).toString()).toBe(`mode ${mode}\n`);
        }
      });

      it('a secret lands 0600 with exact content and no temp file is left', async () => {
        const secret = `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END PRIVATE KEY-----\n`;
        await writeFileAtomic(exec, `${dir}/secret/ca.key`, secret, { mode: '0600' });
        expect(await statFile(exec, `${dir}/secret/ca.key`)).toMatchObject({ mode: '600', size: Buffer.byteLength(secret) });
        expect(await fileSha256(exec, `${dir}/secret/ca.key`)).toBe(sha256(secret));
        const ls = await exec.run(['ls', '-A', `${dir}/secret`]);
        expect(ls.stdout).toBe('ca.key\n');
      });

      it('sets the owner when running as root', async () => {
        if (!isRoot) return;
        await writeFileAtomic(exec, `${dir}/owned`, 'x\n', { mode: '0640', owner: 'nobody' });
        expect(await statFile(exec, `${dir}/owned`)).toMatchObject({ mode: '640', owner: 'nobody' });
      });

      it('a failed write leaves the old file untouched and no temp file behind', async () => {
        const p = `${dir}/keep/me.conf`;
        await writeFileAtomic(exec, p, 'old\n', { mode: '0644' });
        const err = await writeFileAtomic(exec, p, 'new\n', { mode: '0644', owner: `no-such-user-${marker()}` }).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(ExecError);
        expect((await readFile(exec, p)).toString()).toBe('old\n');
        expect((await exec.run(['ls', '-A', `${dir}/keep`])).stdout).toBe('me.conf\n');
      });

      it('refuses to replace a directory', async () => {
        await exec.run(['mkdir', '-p', `${dir}/adir`]);
        await expect(writeFileAtomic(exec, `${dir}/adir`, 'x', { mode: '0644' })).rejects.toThrow(/is a directory/);
      });

      it('is atomic: a reader looping on the target never sees a partial or missing file', async () => {
        const p = `${dir}/atomic.dat`;
        const stopFile = `${dir}/atomic.stop`;
        const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(1024 * 1024, 65 + i));
        const valid = new Set(versions.map(sha256));
        await writeFileAtomic(exec, p, versions[0]!, { mode: '0644' });
        const reader = exec.run(
          [
            'sh',
            '-c',
            'i=0; while [ ! -e "$2" ] && [ $i -lt 20000 ]; do if [ -f "$1" ]; then sha256sum < "$1"; else echo missing; fi; i=$((i+1)); done',
            'sh',
            p,
            stopFile,
          ],
          { timeoutMs: 60_000 },
        );
        for (let round = 0; round < 3; round++) {
          for (const v of versions) await writeFileAtomic(exec, p, v, { mode: '0644' });
        }
        await writeFileAtomic(exec, stopFile, '', { mode: '0644' });
        const seen = (await reader).stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
        expect(seen.length).toBeGreaterThan(10);
        const bad = seen.filter((h) => !valid.has(h));
        expect(bad).toEqual([]);
        // the reader really ran while the file changed
        expect(new Set(seen).size).toBeGreaterThanOrEqual(2);
        const ls = await exec.run(['sh', '-c', 'ls -A "$1" | grep -c airgap-tmp || true', 'sh', dir]);
        expect(ls.stdout.trim()).toBe('0');
      }, 90_000);

      it('uploads a local file atomically with a mode (streamed)', async () => {
        const data = randomBytes(3 * 1024 * 1024);
        const local = join(localTmp, 'upload.bin');
        writeFileSync(local, data);
        await uploadFile(exec, local, `${dir}/bundle/pkg.deb`, { mode: '0644' });
        expect(await fileSha256(exec, `${dir}/bundle/pkg.deb`)).toBe(sha256(data));
        expect((await statFile(exec, `${dir}/bundle/pkg.deb`))?.mode).toBe('644');
      }, 60_000);

      it('fileSha256 and statFile say null for a missing file; exists says false', async () => {
        expect(await fileSha256(exec, `${dir}/nope`)).toBeNull();
        expect(await statFile(exec, `${dir}/nope`)).toBeNull();
        expect(await exists(exec, `${dir}/nope`)).toBe(false);
      });
    });
  });
}
