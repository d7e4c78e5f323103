// File and service operations built ONCE on top of Executor.run, so every executor (dry-run, local, ssh, kind) gets
// the same behaviour by running the same commands — as kind builds its file writes on `cp /dev/stdin`.
//
// Quoting: data never becomes shell text. Where a shell is needed (several steps in one round trip), the script is a
// constant and every path, mode and owner is passed as a positional argument ("$1", "$2", ...).
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { Executor, RunOptions } from './executor.js';

/** How {@link writeFileAtomic} writes: mode, owner, timeout, cancellation. */
export interface WriteFileOptions {
  /** octal string: '0644', '600', '0755' */
  mode: string;
  /** chown argument: 'root', 'root:root', '0:0'; omitted: left as created (the executing user) */
  owner?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const MODE = /^[0-7]{3,4}$/;
const OWNER = /^([a-z_][a-z0-9_.-]*\$?|[0-9]+)(:([a-z_][a-z0-9_.-]*\$?|[0-9]+))?$/i;

/**
 * Where an absolute path lives for this executor: itself, or under the executor's `fileRoot` (the local executor's
 * `root` for tests). Relative paths are refused: they would depend on the remote working directory.
 */
export function hostPath(exec: Executor, path: string): string {
  if (!path.startsWith('/')) throw new TypeError(`path must be absolute: ${path}`);
  const normal = posix.normalize(path);
  return exec.fileRoot ? posix.join(exec.fileRoot, normal) : normal;
}

// $1 final path, $2 temp path (same directory, so mv is a rename), $3 mode, $4 owner or '', $5 expected byte count.
// - mkdir -p runs before the umask change, so new parent directories get the usual 0755.
// - umask 077: the temp file is created 0600, so content is never readable by others, even mid-write;
//   chmod/chown happen on the temp file BEFORE the rename makes it visible under its name.
// - the byte count guards against a stdin cut short (a dropped connection, a failed local read): a short file is
//   never renamed into place.
// - the trap removes the temp file on every failure path the shell sees (a SIGKILL leaves it: its name says what it is).
// - a mount point (bind-mounted file) is the exception to the rename: see below.
const WRITE_SCRIPT = [
  'set -e',
  'dest=$1 tmp=$2',
  'if [ -d "$dest" ]; then echo "airgap-k8s: $dest is a directory" >&2; exit 1; fi',
  'mkdir -p -- "$(dirname -- "$dest")"',
  'trap \'rm -f -- "$tmp"\' EXIT',
  'umask 077',
  'cat > "$tmp"',
  'size=$(wc -c < "$tmp")',
  'if [ "$size" -ne "$5" ]; then echo "airgap-k8s: wrote $size bytes to $tmp, expected $5; not replacing $dest" >&2; exit 1; fi',
  'chmod "$3" "$tmp"',
  'if [ -n "$4" ]; then chown -- "$4" "$tmp"; fi',
  // A file that is a mount point cannot be renamed over (a container's /etc/hostname, /etc/hosts, /etc/resolv.conf
  // are bind mounts): its content is replaced in place then, the one non-atomic case. Any other failure stands.
  'if ! mv -f -- "$tmp" "$dest" 2>/dev/null; then',
  '  if [ -f "$dest" ] && awk -v d="$dest" \'$5 == d { f = 1 } END { exit !f }\' /proc/self/mountinfo; then',
  '    cat -- "$tmp" > "$dest"; chmod "$3" "$dest"; if [ -n "$4" ]; then chown -- "$4" "$dest"; fi; rm -f -- "$tmp"',
  '  else mv -f -- "$tmp" "$dest"; fi',
  'fi',
  'trap - EXIT',
].join('\n');

function writeArgv(dest: string, opts: WriteFileOptions, size: number): string[] {
  if (!MODE.test(opts.mode)) throw new TypeError(`mode must be octal like 0644: ${opts.mode}`);
  if (opts.owner !== undefined && !OWNER.test(opts.owner)) throw new TypeError(`owner must be user[:group]: ${opts.owner}`);
  const tmp = `${dest}.airgap-tmp.${randomBytes(6).toString('hex')}`;
  return ['sh', '-c', WRITE_SCRIPT, 'airgap-write', dest, tmp, opts.mode, opts.owner ?? '', String(size)];
}

function passthrough(opts: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined }): RunOptions {
  const o: RunOptions = {};
  if (opts.timeoutMs !== undefined) o.timeoutMs = opts.timeoutMs;
  if (opts.signal !== undefined) o.signal = opts.signal;
  return o;
}

/**
 * Write `content` to `path` atomically: a reader sees the old file or the whole new one, never a part; the mode
 * (and owner) are set before the file appears under its name. Content travels on stdin and is never logged.
 */
export async function writeFileAtomic(exec: Executor, path: string, content: string | Buffer, opts: WriteFileOptions): Promise<void> {
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  await exec.run(writeArgv(hostPath(exec, path), opts, data.length), { ...passthrough(opts), stdin: data });
}

/** Copy a local file to `remotePath` the same atomic way, streamed (bundles of gigabytes never sit in memory). */
export async function uploadFile(exec: Executor, localPath: string, remotePath: string, opts: WriteFileOptions): Promise<void> {
  const st = statSync(localPath, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new Error(`upload: ${localPath} is not a regular file`);
  await exec.run(writeArgv(hostPath(exec, remotePath), opts, st.size), { ...passthrough(opts), stdinFile: localPath });
}

/** The file's bytes. Rejects (ExecError) when it cannot be read. */
export async function readFile(exec: Executor, path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await exec.run(['cat', '--', hostPath(exec, path)], { ...passthrough(opts), onStdout: (c) => chunks.push(c) });
  return Buffer.concat(chunks);
}

/** Hex sha256 of a regular file's content, or null when there is no such file (the idempotency probe of writes). */
export async function fileSha256(exec: Executor, path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string | null> {
  const r = await exec.run(
    ['sh', '-c', 'if [ -f "$1" ]; then sha256sum < "$1"; else echo absent; fi', 'airgap-sha256', hostPath(exec, path)],
    passthrough(opts),
  );
  const out = r.stdout.trim();
  if (out === 'absent') return null;
  const m = /^([0-9a-f]{64})\b/.exec(out);
  if (!m) throw new Error(`${exec.host}: unexpected sha256sum output for ${path}: ${out.slice(0, 200)}`);
  return m[1]!;
}

/**
 * Permission bits and sha256 of a regular file in one round trip, or null when there is no such file: the
 * idempotency probe of a write step (the same content with another mode is not done).
 */
export async function fileDigest(exec: Executor, path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ mode: number; sha256: string } | null> {
  const r = await exec.run(
    ['sh', '-c', 'if [ -f "$1" ]; then stat -c %a -- "$1" && sha256sum < "$1"; else echo absent; fi', 'airgap-digest', hostPath(exec, path)],
    passthrough(opts),
  );
  const out = r.stdout.trim();
  if (out === 'absent') return null;
  const m = /^([0-7]{3,4})\n([0-9a-f]{64})\b/.exec(out);
  if (!m) throw new Error(`${exec.host}: unexpected stat/sha256sum output for ${path}: ${out.slice(0, 200)}`);
  return { mode: Number.parseInt(m[1]!, 8), sha256: m[2]! };
}

/** Whether a path exists on the host (`test -e`); throws when the test itself fails. */
export async function exists(exec: Executor, path: string): Promise<boolean> {
  const r = await exec.run(['test', '-e', hostPath(exec, path)], { allowFailure: true });
  if (r.exitCode === 0) return true;
  if (r.exitCode === 1) return false;
  throw new Error(`${exec.host}: test -e ${path} failed (exit ${r.exitCode}, signal ${r.signal}): ${r.stderr.trim()}`);
}

/** A file's mode, owner, group and size on the host. */
export interface FileStat {
  /** octal permission bits, e.g. '600', '755', '1777' */
  mode: string;
  owner: string;
  group: string;
  size: number;
}

/** Mode, owner and size of a path (following no symlink), or null when it does not exist. */
export async function statFile(exec: Executor, path: string): Promise<FileStat | null> {
  const r = await exec.run(
    ['sh', '-c', 'if [ -e "$1" ] || [ -L "$1" ]; then stat -c "%a %U %G %s" -- "$1"; else echo absent; fi', 'airgap-stat', hostPath(exec, path)],
  );
  const out = r.stdout.trim();
  if (out === 'absent') return null;
  const [mode, owner, group, size] = out.split(' ');
  if (!mode || !owner || !group || size === undefined) throw new Error(`${exec.host}: unexpected stat output for ${path}: ${out}`);
  return { mode, owner, group, size: Number(size) };
}

/** `rm -f` one file (not directories). */
export async function removeFile(exec: Executor, path: string): Promise<void> {
  await exec.run(['rm', '-f', '--', hostPath(exec, path)]);
}

/** enable-now: `systemctl enable --now` (enabled for boot and started, in one call). */
export type SystemctlVerb = 'enable' | 'enable-now' | 'disable' | 'start' | 'stop' | 'restart' | 'reload' | 'daemon-reload';

/** `systemctl <verb> [units...]`; units are plain argv, never shell text. */
export async function systemctl(exec: Executor, verb: SystemctlVerb, units: readonly string[] = [], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  if (verb !== 'daemon-reload' && units.length === 0) throw new TypeError(`systemctl ${verb} needs a unit`);
  const args = verb === 'enable-now' ? ['enable', '--now'] : [verb];
  await exec.run(['systemctl', ...args, ...(units.length ? ['--', ...units] : [])], passthrough(opts));
}

/** Whether a unit is active (`systemctl is-active --quiet`: 0 active, anything else not). */
export async function isActive(exec: Executor, unit: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  const r = await exec.run(['systemctl', 'is-active', '--quiet', '--', unit], { ...passthrough(opts), allowFailure: true });
  return r.exitCode === 0;
}

/** Whether a unit is enabled for boot (`systemctl is-enabled --quiet`). */
export async function isEnabled(exec: Executor, unit: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  const r = await exec.run(['systemctl', 'is-enabled', '--quiet', '--', unit], { ...passthrough(opts), allowFailure: true });
  return r.exitCode === 0;
}
