// Delivering the bundle to the hosts over the one Executor interface (ssh, local, dry-run alike): resumable,
// verified, skipped when already there.
//
// Per file, on the host:
//   1. one round trip for a whole directory: which files already hold the expected sha256 (hashed only when the
//      size matches), how far each `<file>.partial` got, and which files are there that the bundle does not list
//   2. one command receives the file (the executor's stdinFile: never held in memory) into <file>.partial, hashing
//      the bytes as they arrive (Python's hashlib, files of 8 MiB and more) or the partial once after (openssl,
//      page-cached: it was just written), and checks its size and sha256; only a match is renamed into place
//      (atomic), a mismatch is removed (nothing is left in place) and sent again once. A sender still hashing its
//      copy (sha256 given as a promise: one local pass for every host, while the bytes travel) has the host print
//      its hash and keep the partial; the rename is then a second command, once the two agree.
//   3. a dropped connection leaves a prefix there (bytes arrive in order): the retry asks the host for the partial's
//      size (`stat -c %s`) and sends only the rest (stdinFileOffset) into the same command, which appends it and
//      hashes kept prefix and rest together: it continues, it does not restart
// Files in an uploaded directory that the bundle does not list are removed (a stale kubeadm .deb left from an older
// bundle would otherwise be installed by `dpkg -i ./*.deb` too). Scripts are constants; paths travel as "$1".
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ExecConnectionError, ExecError, type Executor } from '../../executors/executor.js';
import { hostPath } from '../../executors/ops.js';
import { isUnder } from '../layout.js';
import type { Artifact, BundleManifest } from '../manifest.js';

const MiB = 1024 * 1024;

/** Progress of a bundle upload to one host, reported while a file is in flight. */
export interface UploadProgress {
  host: string;
  /** bundle-relative path of the file in flight */
  path: string;
  fileBytes: number;
  fileSize: number;
  /** bytes on the host (or skipped as already there) of everything this call uploads */
  bytes: number;
  total: number;
}

/** What happened to one bundle file on one host: skipped (already there, same digest), uploaded or resumed. */
export interface FileReport {
  path: string;
  action: 'skipped' | 'uploaded' | 'resumed';
  /** bytes actually sent */
  sent: number;
  /** where the first resume continued from (resumed only) */
  resumedFrom?: number;
  /** connection drops / retryable failures survived */
  retries: number;
}

/** What an upload did on one host: each file's outcome, the bytes sent and the stale files removed. */
export interface UploadReport {
  host: string;
  files: FileReport[];
  sent: number;
  /** stale files removed from uploaded directories (remote paths) */
  removed: string[];
  durationMs: number;
}

/** How to upload: cancellation, progress, chunk size when resuming and how many failures without progress to bear. */
export interface UploadOptions {
  signal?: AbortSignal;
  /** Called as bytes go out. */
  onProgress?: (p: UploadProgress) => void;
  /**
   * @deprecated Ignored: a resumed upload sends the rest of the file in one stream (the host hashes the kept prefix
   * and the rest in one pass), no longer in appended chunks.
   */
  chunkBytes?: number;
  /** consecutive failures without progress (1 MiB more on the host) before giving up; default 6 */
  maxRetries?: number;
  /** first wait before a retry; doubles, at most 10 s; default 500 ms */
  retryDelayMs?: number;
  /** how often the host is asked how far a streamed file got, for progress; default 1000 ms, 0 = never */
  progressPollMs?: number;
}

/** The manifest entries an upload of `localPath` (a bundle file or directory) carries. */
export function entriesUnder(manifest: BundleManifest, localPath: string): Artifact[] {
  return manifest.artifacts.filter((a) => isUnder(a.path, localPath));
}

const remoteOf = (entry: Artifact, localPath: string, remotePath: string) => remotePath + entry.path.slice(localPath.length);

// sha256 of stdin as 64 hex digits. OpenSSL's where it is installed (RHEL and Debian hosts have it): it uses the
// CPU's SHA instructions, several times faster than coreutils' sha256sum, which hashes in portable C (Debian 12's
// coreutils 9.1 and OpenSSL 3.0 here: 1.3-1.6 s of CPU for 256 MiB against 0.2 s); sha256sum where it is not.
const SHA256_FN = 'sha() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r; else sha256sum; fi | cut -c1-64; }';

// $1: directory to list ('' for none); then pairs: file, expected size.
// F <sha256> <file>   the file is there with the expected size (and this sha256)
// S <size> <file>     the file is there with another size
// P <size> <file>     <file>.partial holds this many bytes
// L <path>            a file in the listed directory
const STATE_SCRIPT = [
  SHA256_FN,
  'd=$1; shift',
  'if [ -n "$d" ] && [ -d "$d" ]; then find "$d" -type f -print | sed "s/^/L /"; fi',
  'while [ $# -gt 1 ]; do',
  '  f=$1 n=$2; shift 2',
  '  if [ -f "$f" ]; then',
  '    s=$(stat -c %s -- "$f")',
  '    if [ "$s" = "$n" ]; then echo "F $(sha < "$f") $f"; else echo "S $s $f"; fi',
  '  fi',
  '  if [ -f "$f.partial" ]; then echo "P $(stat -c %s -- "$f.partial") $f"; fi',
  'done',
].join('\n');

// Receives stdin into $1 (the partial; $2: bytes of it to keep, 0 for a fresh one) and prints the sha256 of the
// whole partial, kept prefix and all, hashed as the bytes arrive: Python's hashlib (OpenSSL's SHA, the GIL released)
// reads the pipe in up to 1 MiB blocks (the pipe grown to 1 MiB where the kernel allows), writes and hashes each
// block, so the check costs no second read and ends with the transfer. Every RHEL host has a Python
// (/usr/libexec/platform-python runs dnf); a host without one receives with cat and hashes after.
const STREAM_PY = [
  'import fcntl, hashlib, os, sys',
  'p, keep = sys.argv[1], int(sys.argv[2])',
  'h = hashlib.sha256()',
  'if keep:',
  '    with open(p, "rb") as r:',
  '        while True:',
  '            b = r.read(1 << 20)',
  '            if not b: break',
  '            h.update(b)',
  'try: fcntl.fcntl(0, 1031, 1 << 20)',
  'except OSError: pass',
  'buf = bytearray(1 << 20); mv = memoryview(buf)',
  'fd = os.open(p, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if keep else os.O_TRUNC), 0o600)',
  'while True:',
  '    n = os.readv(0, [buf])',
  '    if not n: break',
  '    b = mv[:n]; w = 0',
  '    while w < n: w += os.write(fd, b[w:])',
  '    h.update(b)',
  'os.close(fd)',
  'print(h.hexdigest())',
].join('\n');
if (STREAM_PY.includes("'")) throw new Error('STREAM_PY goes into the shell script in single quotes');

// $1 file, $2 size, $3 sha256, $4 mode, $5 bytes of <file>.partial to keep (0: a fresh partial). Receives stdin
// into the partial (appended to the kept prefix), checks the size and sha256 of the whole partial and renames it
// into place, in one round trip. Exit 3: cut short (resumable), 4: wrong sha256 (removed), 1: anything else.
// $3 '-' (the sender is still hashing its copy): the partial is kept, its sha256 printed; finalizeArgv renames it
// once the sender's hash agrees. The partial is 0600 while it arrives (an etcd snapshot holds every Secret).
//
// Files of 8 MiB and more are hashed while they arrive (STREAM_PY). Measured on the test bed (issue 13; 256 MiB,
// interleaved with scp): hashing the partial after the write (page-cached, OpenSSL) left the host's 0.3-0.4 s of
// hashing after the transfer, x0.73-0.89 of scp to 1 host; `tee -a partial | openssl dgst` was slower still (x0.91
// and x0.75, 5.7 s of host CPU against 3.0 s: tee moves the stream in 8 KiB reads and writes through one more pipe).
// Smaller files, and hosts without Python, are received by cat and hashed after: Python's start-up (20-30 ms) costs
// more than it saves there.
const RECEIVE_SCRIPT = [
  SHA256_FN,
  'p=$1.partial',
  'mkdir -p -- "$(dirname -- "$1")" || exit 1',
  'umask 077',
  'if [ "$5" != 0 ]; then',
  '  s=$(stat -c %s -- "$p" 2>/dev/null || echo 0)',
  '  if [ "$s" != "$5" ]; then echo "airgap-k8s: $p holds $s bytes, expected $5" >&2; exit 3; fi',
  'fi',
  'py=',
  'if [ "$2" -ge 8388608 ]; then for c in python3 /usr/libexec/platform-python; do if command -v "$c" >/dev/null 2>&1; then py=$c; break; fi; done; fi',
  'if [ -n "$py" ]; then',
  `  h=$("$py" -c '${STREAM_PY}' "$p" "$5") || exit 1`,
  'else',
  '  if [ "$5" = 0 ]; then cat > "$p" || exit 1; else cat >> "$p" || exit 1; fi',
  '  h=',
  'fi',
  's=$(stat -c %s -- "$p") || exit 1',
  'if [ "$s" != "$2" ]; then echo "airgap-k8s: $p holds $s bytes, expected $2" >&2; exit 3; fi',
  'if [ -z "$h" ]; then h=$(sha < "$p"); fi',
  'case $h in *[!0-9a-f]*) h=;; esac',
  'if [ ${#h} != 64 ]; then echo "airgap-k8s: no sha256 of $p (python, sha256sum or openssl dgst failed)" >&2; exit 1; fi',
  'if [ "$3" = - ]; then chmod "$4" "$p" && echo "$h"; exit; fi',
  'if [ "$h" != "$3" ]; then echo "airgap-k8s: $p has sha256 $h, expected $3; removed" >&2; rm -f -- "$p"; exit 4; fi',
  'chmod "$4" "$p" && mv -f -- "$p" "$1"',
].join('\n');

// A partial that RECEIVE_SCRIPT received with '-', into place ($1 the file) once the hashes agree.
const finalizeArgv = (target: string) => ['sh', '-c', 'mv -f -- "$1.partial" "$1"', 'airgap-bundle-finalize', target];

/**
 * What a host holds of one file: its sha256 when it has the whole file, the size of an interrupted upload's partial
 * file.
 */
export interface RemoteState {
  /** sha256 of the file when its size is the expected one */
  sha?: string;
  partial?: number;
}

async function remoteStates(
  exec: Executor,
  files: { remote: string; size: number }[],
  listDir: string | undefined,
  signal?: AbortSignal,
): Promise<{ states: Map<string, RemoteState>; listed: string[] }> {
  const args: string[] = [listDir ? hostPath(exec, listDir) : ''];
  const byHostPath = new Map<string, string>();
  for (const f of files) {
    const hp = hostPath(exec, f.remote);
    byHostPath.set(hp, f.remote);
    args.push(hp, String(f.size));
  }
  const r = await exec.run(['sh', '-c', STATE_SCRIPT, 'airgap-bundle-state', ...args], { signal, timeoutMs: 30 * 60_000 });
  const states = new Map<string, RemoteState>();
  const listed: string[] = [];
  const root = exec.fileRoot ? exec.fileRoot.replace(/\/+$/, '') : '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('L ')) {
      const p = line.slice(2);
      listed.push(root && p.startsWith(`${root}/`) ? p.slice(root.length) : p);
      continue;
    }
    const m = /^([FSP]) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const remote = byHostPath.get(m[3]!);
    if (!remote) continue;
    const s = states.get(remote) ?? {};
    if (m[1] === 'F' && /^[0-9a-f]{64}$/.test(m[2]!)) s.sha = m[2];
    if (m[1] === 'P' && /^[0-9]+$/.test(m[2]!)) s.partial = Number(m[2]);
    states.set(remote, s);
  }
  return { states, listed };
}

function retryable(e: unknown): boolean {
  if (e instanceof ExecConnectionError) return e.retryable;
  if (e instanceof ExecError) return e.result.exitCode === 3 || e.result.timedOut;
  return false;
}

/** Time a transfer of `bytes` may take: 2 minutes plus 1 MiB/s. */
const transferTimeout = (bytes: number) => 120_000 + Math.ceil(bytes / MiB) * 1000;

const partialSizeArgv = (target: string) => ['sh', '-c', 'stat -c %s -- "$1.partial" 2>/dev/null || echo 0', 'airgap-bundle-partial', target];

/**
 * One file to one host, resumable and verified.
 *
 * `expect.sha256` may be a promise: the hash of the local file still being worked out (one local pass shared by
 * every host, run while the bytes travel). The host then hashes what arrives as it always does and reports it; the
 * file is renamed into place only after the two agree (one more round trip), removed and sent once more when not.
 */
export async function uploadFileResumable(
  exec: Executor,
  local: string,
  remote: string,
  expect: { size: number; sha256: string | Promise<string>; mode?: string; path?: string },
  state: RemoteState,
  opts: UploadOptions & { onBytes?: (fileBytes: number) => void } = {},
): Promise<FileReport> {
  const path = expect.path ?? remote;
  const report: FileReport = { path, action: 'uploaded', sent: 0, retries: 0 };
  let sha = typeof expect.sha256 === 'string' ? expect.sha256 : undefined;
  const localSha = async (): Promise<string> => {
    sha ??= await expect.sha256;
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new TypeError(`${path}: sha256 must be 64 lower-case hex digits, got ${JSON.stringify(sha.slice(0, 80))}`);
    return sha;
  };
  if (sha === undefined) {
    // learn it as soon as it is there (a retry then checks on the host), and never leave a rejection unhandled
    Promise.resolve(expect.sha256).then((s) => (sha ??= s), () => undefined);
  }
  if (state.sha !== undefined && state.sha === (await localSha())) return { ...report, action: 'skipped' };
  const target = hostPath(exec, remote);
  const maxRetries = opts.maxRetries ?? 6;
  // where the host's partial got to; a .partial longer than the file is started afresh
  let offset = state.partial !== undefined && state.partial <= expect.size ? state.partial : 0;
  let failures = 0;
  let restarted = false;
  if (offset > 0) {
    report.action = 'resumed';
    report.resumedFrom = offset;
  }
  opts.onBytes?.(offset);

  const askPartial = async (): Promise<number> => {
    const r = await exec.run(partialSizeArgv(target), { signal: opts.signal, timeoutMs: 60_000 });
    const n = Number(r.stdout.trim());
    return Number.isInteger(n) && n >= 0 ? n : 0;
  };

  for (;;) {
    try {
      // the rest of the file, streamed; progress from the host's view of the partial
      let poll: NodeJS.Timeout | undefined;
      const every = opts.progressPollMs ?? 1000;
      if (every > 0 && opts.onBytes) {
        let busy = false;
        poll = setInterval(() => {
          if (busy) return;
          busy = true;
          exec
            .run(partialSizeArgv(target), { allowFailure: true, timeoutMs: 10_000 })
            .then((r) => {
              const n = Number(r.stdout.trim());
              if (poll && Number.isInteger(n) && n > 0 && n <= expect.size) opts.onBytes?.(n);
            })
            .catch(() => undefined)
            .finally(() => (busy = false));
        }, every);
      }
      let r;
      const want = sha === undefined ? '-' : await localSha();
      try {
        r = await exec.run(['sh', '-c', RECEIVE_SCRIPT, 'airgap-bundle-stream', target, String(expect.size), want, expect.mode ?? '0644', String(offset)], {
          stdinFile: local,
          stdinFileOffset: offset,
          signal: opts.signal,
          timeoutMs: transferTimeout(expect.size),
          allowFailure: true,
        });
      } finally {
        if (poll) clearInterval(poll);
        poll = undefined;
      }
      if (r.exitCode === 0 && !r.timedOut && r.signal === null && want === '-') {
        // the host kept the partial and printed its sha256: into place once ours agrees
        const onHost = /^([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
        const ours = await localSha();
        report.sent += expect.size - offset;
        if (onHost === ours) {
          await exec.run(finalizeArgv(target), { signal: opts.signal, timeoutMs: 60_000 });
          opts.onBytes?.(expect.size);
          return report;
        }
        await exec.run(['rm', '-f', '--', `${target}.partial`], { signal: opts.signal, timeoutMs: 60_000 });
        if (restarted) throw new Error(`${exec.host}: ${path} arrived with sha256 ${onHost ?? '(none reported)'}, expected ${ours}; removed`);
        restarted = true;
        offset = 0;
        opts.onBytes?.(0);
        continue;
      }
      if (r.exitCode === 0 && !r.timedOut && r.signal === null) {
        report.sent += expect.size - offset;
        opts.onBytes?.(expect.size);
        return report;
      }
      if (r.exitCode === 4 && !restarted) {
        // what arrived is not the file (a partial that was not its prefix, or the local file changed): once more
        // from the start
        restarted = true;
        offset = 0;
        opts.onBytes?.(0);
        continue;
      }
      throw new ExecError(exec.host, ['sh', '-c', '<receive, verify and rename>', target], r);
    } catch (e) {
      if (opts.signal?.aborted || !retryable(e) || ++failures > maxRetries) throw e;
      report.retries++;
      await delay(Math.min(10_000, (opts.retryDelayMs ?? 500) * 2 ** (failures - 1)), undefined, opts.signal ? { signal: opts.signal } : {});
      // where did the host get to? (this also reconnects a dropped ssh connection)
      const at = await askPartial().catch(() => undefined);
      if (at === undefined) continue; // still unreachable: try again from the same offset (its size check tells)
      if (at <= expect.size && at - offset >= MiB) failures = 0; // it got further: a flaky link, not a dead one
      offset = at > expect.size ? 0 : at;
      if (offset > 0) {
        report.action = 'resumed';
        report.resumedFrom ??= offset;
      }
      opts.onBytes?.(offset);
    }
  }
}

/**
 * Uploads a bundle file or directory (every bundle.yaml entry below `localPath`) to `remotePath` on one host,
 * one file after another; removes files the bundle does not list from an uploaded directory.
 */
export async function uploadBundlePath(
  exec: Executor,
  bundleDir: string,
  manifest: BundleManifest,
  localPath: string,
  remotePath: string,
  opts: UploadOptions = {},
): Promise<UploadReport> {
  const t0 = Date.now();
  const entries = entriesUnder(manifest, localPath);
  const isDir = !entries.some((e) => e.path === localPath);
  const files = entries.map((e) => ({ entry: e, remote: remoteOf(e, localPath, remotePath), size: e.size }));
  const { states, listed } = await remoteStates(exec, files, isDir ? remotePath : undefined, opts.signal);
  const total = files.reduce((n, f) => n + f.size, 0);
  let accounted = 0; // bytes of the files before the current one
  const report: UploadReport = { host: exec.host, files: [], sent: 0, removed: [], durationMs: 0 };

  const expected = new Set(files.map((f) => f.remote));
  const done = new Set(files.filter((f) => states.get(f.remote)?.sha === f.entry.sha256).map((f) => f.remote));
  // keep a .partial only while its file still has to arrive (it is where a resumed upload continues)
  const stale = listed.filter((p) => {
    if (expected.has(p)) return false;
    const of = p.endsWith('.partial') ? p.slice(0, -'.partial'.length) : undefined;
    return !(of !== undefined && expected.has(of) && !done.has(of));
  });
  if (stale.length > 0) {
    await exec.run(['rm', '-f', '--', ...stale.map((p) => hostPath(exec, p))], { signal: opts.signal, timeoutMs: 120_000 });
    report.removed.push(...stale);
  }

  for (const f of files) {
    const r = await uploadFileResumable(exec, join(bundleDir, f.entry.path), f.remote, { size: f.size, sha256: f.entry.sha256, path: f.entry.path }, states.get(f.remote) ?? {}, {
      ...opts,
      onBytes: (n) => opts.onProgress?.({ host: exec.host, path: f.entry.path, fileBytes: n, fileSize: f.size, bytes: accounted + n, total }),
    });
    accounted += f.size;
    report.files.push(r);
    report.sent += r.sent;
    opts.onProgress?.({ host: exec.host, path: f.entry.path, fileBytes: f.size, fileSize: f.size, bytes: accounted, total });
  }
  report.durationMs = Date.now() - t0;
  return report;
}

/** True when the host holds every file of the upload with its sha256 and nothing the bundle does not list. */
export async function bundlePathPresent(exec: Executor, manifest: BundleManifest, localPath: string, remotePath: string, signal?: AbortSignal): Promise<boolean> {
  const entries = entriesUnder(manifest, localPath);
  const isDir = !entries.some((e) => e.path === localPath);
  const files = entries.map((e) => ({ entry: e, remote: remoteOf(e, localPath, remotePath), size: e.size }));
  const { states, listed } = await remoteStates(exec, files, isDir ? remotePath : undefined, signal);
  const expected = new Set(files.map((f) => f.remote));
  if (listed.some((p) => !expected.has(p))) return false;
  return files.every((f) => states.get(f.remote)?.sha === f.entry.sha256);
}

/** One host of a distribution: its executor and the bundle paths it receives, in order. */
export interface DistributeTarget {
  exec: Executor;
  uploads: { localPath: string; remotePath: string }[];
}

/**
 * Several hosts at once (at most `concurrency`), each receiving its uploads in order. Every host is tried; the
 * result lists each host's report or error.
 */
export async function distributeBundle(o: {
  dir: string;
  manifest: BundleManifest;
  targets: DistributeTarget[];
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: UploadProgress) => void;
} & Omit<UploadOptions, 'onProgress' | 'signal'>): Promise<{ host: string; report?: UploadReport; error?: Error }[]> {
  const results: { host: string; report?: UploadReport; error?: Error }[] = [];
  const queue = [...o.targets];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) {
      const target = t;
      const merged: UploadReport = { host: target.exec.host, files: [], sent: 0, removed: [], durationMs: 0 };
      const t0 = Date.now();
      try {
        const total = target.uploads.reduce((n, u) => n + entriesUnder(o.manifest, u.localPath).reduce((m, e) => m + e.size, 0), 0);
        let before = 0;
        for (const u of target.uploads) {
          const r = await uploadBundlePath(target.exec, o.dir, o.manifest, u.localPath, u.remotePath, {
            ...o,
            onProgress: (p) => o.onProgress?.({ ...p, bytes: before + p.bytes, total }),
          });
          before += entriesUnder(o.manifest, u.localPath).reduce((m, e) => m + e.size, 0);
          merged.files.push(...r.files);
          merged.sent += r.sent;
          merged.removed.push(...r.removed);
        }
        merged.durationMs = Date.now() - t0;
        results.push({ host: target.exec.host, report: merged });
      } catch (e) {
        results.push({ host: target.exec.host, error: e as Error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, o.targets.length)) }, worker));
  return results.sort((a, b) => (a.host < b.host ? -1 : 1));
}
