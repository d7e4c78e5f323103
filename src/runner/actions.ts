// How each step kind is probed and performed, over the one Executor interface. The only place that turns plan
// data into commands; arguments stay argv, and where a shell is needed the script text is fixed and values are
// passed as positional parameters ("$1"), never spliced in.
import type { Executor, RunResult } from '../executors/executor.js';
import { createHash } from 'node:crypto';
import { chmodSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileDigest, fileSha256, isActive, isEnabled, readFile, systemctl, writeFileAtomic } from '../executors/ops.js';
import { KUBECONFIG } from '../plan/build.js';
import type { Probe, Step } from '../plan/types.js';
import { versionMatches, type PackageRef } from '../bundle/packages.js';
import { bundlePathPresent, uploadBundlePath, uploadFileResumable, type UploadProgress } from '../bundle/io/distribute.js';
import type { BundleSource } from '../bundle/io/source.js';
import { PACKAGE_MANAGERS, type PackageManager } from '../os/profiles.js';
import { waitUnlessAborted } from './wait.js';

export interface StepContext {
  exec: Executor;
  /** rendered file content by output path */
  content(source: string): string;
  signal?: AbortSignal;
  /** output chunks for live display (already redacted by the runner) */
  onOutput?: (chunk: string) => void;
  /** the offline bundle on this machine (verify-bundle and upload steps; a run without one cannot start) */
  bundle?: BundleSource;
  /** transfer progress of upload steps */
  onProgress?: (p: UploadProgress) => void;
}

function bundleOf(ctx: StepContext): BundleSource {
  if (!ctx.bundle) {
    throw new Error('no offline bundle was given to the runner (RunOptions.bundle): an install never starts on an unverified bundle');
  }
  return ctx.bundle;
}

async function ok(ctx: StepContext, argv: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<boolean> {
  const r = await ctx.exec.run(argv, { ...opts, allowFailure: true, signal: ctx.signal });
  return r.exitCode === 0;
}

function run(ctx: StepContext, argv: readonly string[], timeoutMs: number, stdin?: string): Promise<RunResult> {
  return ctx.exec.run(argv, {
    timeoutMs,
    signal: ctx.signal,
    stdin,
    onStdout: ctx.onOutput ? (b) => ctx.onOutput!(b.toString()) : undefined,
    onStderr: ctx.onOutput ? (b) => ctx.onOutput!(b.toString()) : undefined,
  });
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

async function packagesInstalled(ctx: StepContext, manager: PackageManager, packages: PackageRef[]): Promise<boolean> {
  for (const p of packages) {
    const r = await ctx.exec.run(['sh', '-c', PACKAGE_MANAGERS[manager].probe, 'pkg', p.name], { allowFailure: true, signal: ctx.signal, timeoutMs: 30_000 });
    if (r.exitCode !== 0) return false;
    const version = r.stdout.trim().split('\n')[0] ?? '';
    // Debian versions carry an epoch and revision: 1:2.2.7-1 -> 2.2.7-1 (1.34.3 matches 1.34.3-1.1, not 1.34.30)
    if (p.version && !versionMatches(version, p.version)) return false;
  }
  return true;
}

/** True when the step's effect is already in place. */
export async function probe(ctx: StepContext, p: Probe): Promise<boolean> {
  switch (p.kind) {
    case 'file': {
      const d = await fileDigest(ctx.exec, p.path, { signal: ctx.signal, timeoutMs: 30_000 });
      return d !== null && d.mode === p.mode && d.sha256 === p.sha256;
    }
    case 'packages':
      return packagesInstalled(ctx, p.manager, p.packages);
    case 'service-active':
      return (await isActive(ctx.exec, p.unit, { signal: ctx.signal, timeoutMs: 30_000 })) && (await isEnabled(ctx.exec, p.unit, { signal: ctx.signal, timeoutMs: 30_000 }));
    case 'command':
      return ok(ctx, p.argv, { timeoutMs: 60_000 });
    case 'kube-diff':
      return ok(ctx, ['kubectl', '--kubeconfig', KUBECONFIG, 'diff', '--server-side', '--field-manager=airgap-k8s', '-f', '-'], {
        stdin: ctx.content(p.source),
        timeoutMs: 60_000,
      });
    case 'bundle-files': {
      const manifest = await bundleOf(ctx).verified();
      return bundlePathPresent(ctx.exec, manifest, p.localPath, p.remotePath, ctx.signal);
    }
  }
}

/** Perform the step. Throws ExecError (or Error) on failure. */
export async function perform(ctx: StepContext, step: Step): Promise<void> {
  const t = step.timeoutMs;
  switch (step.kind) {
    case 'write-file':
      await writeFileAtomic(ctx.exec, step.path, ctx.content(step.source), { mode: octal(step.mode), timeoutMs: step.timeoutMs, signal: ctx.signal });
      return;
    case 'verify-bundle':
      await bundleOf(ctx).verified();
      return;
    case 'upload': {
      const b = bundleOf(ctx);
      const manifest = await b.verified();
      const r = await uploadBundlePath(ctx.exec, b.dir, manifest, step.localPath, step.remotePath, { signal: ctx.signal, onProgress: ctx.onProgress });
      const resumed = r.files.filter((f) => f.action === 'resumed').length;
      const skipped = r.files.filter((f) => f.action === 'skipped').length;
      ctx.onOutput?.(
        `${r.files.length} files, ${(r.sent / 1048576).toFixed(1)} MiB sent in ${(r.durationMs / 1000).toFixed(1)}s` +
          `${skipped ? `, ${skipped} already there` : ''}${resumed ? `, ${resumed} resumed` : ''}${r.removed.length ? `, ${r.removed.length} stale removed` : ''}\n`,
      );
      return;
    }
    case 'push-images': {
      // $1 archive dir, $2 namespace, $3 flags for push (space-separated, fixed words), then source/target pairs
      const flags = step.insecure ? 'insecure' : step.caFile ? 'ca' : 'tls';
      await run(ctx, ['sh', '-c', PUSH_SCRIPT, 'push', step.archives, flags, step.caFile ?? '', ...step.images.flatMap((i) => [i.source, i.target])], t);
      return;
    }
    case 'install-packages': {
      const script = PACKAGE_MANAGERS[step.manager].install;
      // Versions are guaranteed by the bundle verification before any host is touched; the probe re-checks them
      // on the next run.
      await run(ctx, ['sh', '-c', script, 'install', step.dir], t);
      return;
    }
    case 'import-images':
      for (const dir of step.archives) {
        await run(ctx, ['sh', '-c', 'for f in "$1"/*.tar; do [ -e "$f" ] || continue; ctr -n k8s.io images import "$f" || exit 1; done', 'import', dir], t);
      }
      return;
    case 'systemd':
      await systemctl(ctx.exec, step.action, step.action === 'daemon-reload' ? [] : [step.unit], { signal: ctx.signal, timeoutMs: t });
      return;
    case 'exec':
      await run(ctx, step.argv, t);
      return;
    case 'fetch-file': {
      const opts = { signal: ctx.signal, timeoutMs: t };
      const onHost = await fileSha256(ctx.exec, step.path, opts);
      if (!onHost) throw new Error(`${ctx.exec.host}: ${step.path} does not exist`);
      const bytes = await readFile(ctx.exec, step.path, opts);
      const here = createHash('sha256').update(bytes).digest('hex');
      if (here !== onHost) throw new Error(`${step.path} from ${ctx.exec.host}: sha256 ${here} here, ${onHost} on the host (the copy was damaged on the way)`);
      // atomically, 0600: what is fetched (an etcd snapshot) may hold every Secret of the cluster
      const tmp = `${step.to}.part-${process.pid}`;
      writeFileSync(tmp, bytes, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, step.to);
      ctx.onOutput?.(`${step.path} (${bytes.length} bytes, sha256 ${here}) -> ${step.to}\n`);
      return;
    }
    case 'push-file': {
      // The host checks the plan's sha256 as the bytes arrive and renames only a match into place (resumable, one
      // pass there, none here); our copy is hashed only to say plainly why when it did not match.
      const st = statSync(step.from, { throwIfNoEntry: false });
      if (!st?.isFile()) throw new Error(`${step.from} is not a regular file`);
      try {
        await uploadFileResumable(ctx.exec, step.from, step.path, { size: st.size, sha256: step.sha256, mode: octal(step.mode) }, {}, { signal: ctx.signal, progressPollMs: 0 });
      } catch (e) {
        const here = await localSha256(step.from).catch(() => undefined);
        if (here !== undefined && here !== step.sha256) throw new Error(`${step.from} changed since the plan was made: sha256 ${here}, the plan has ${step.sha256}`, { cause: e });
        throw e;
      }
      return;
    }
    case 'wait-for': {
      const deadline = Date.now() + t;
      let last = '';
      for (;;) {
        const r = await ctx.exec.run(step.argv, { allowFailure: true, signal: ctx.signal, timeoutMs: Math.min(120_000, t) });
        if (r.exitCode === 0) return;
        last = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
        if (Date.now() + step.intervalMs > deadline) throw new Error(`gave up after ${Math.round(t / 1000)}s: ${last}`);
        if (!(await waitUnlessAborted(step.intervalMs, ctx.signal))) throw new Error('cancelled');
      }
    }
    case 'kube-apply':
      await run(ctx, ['kubectl', '--kubeconfig', KUBECONFIG, 'apply', '--server-side', '--field-manager=airgap-k8s', '--force-conflicts', '-f', '-'], t, ctx.content(step.source));
      return;
    case 'helm-install': {
      const values = `/etc/kubernetes/airgap-k8s/helm/${step.release}.values.yaml`;
      await writeFileAtomic(ctx.exec, values, ctx.content(step.values), { mode: '0600', signal: ctx.signal });
      await run(
        ctx,
        ['helm', '--kubeconfig', KUBECONFIG, 'upgrade', '--install', step.release, step.chart, '--namespace', step.namespace, '--create-namespace',
          '--values', values, '--description', `airgap-k8s:${step.sha256}`, '--wait', '--timeout', `${Math.max(1, Math.round(t / 60_000))}m`],
        t,
      );
      return;
    }
  }
}

/**
 * Hex sha256 of a file on this machine (an etcd snapshot, a push-file source, a file sent before its hash is known),
 * read 4 MiB at a time into one buffer that is hashed and read into again. A stream's fresh buffer per chunk cost
 * more than the hash itself here: 100 MiB in 159-164 ms streamed in 1 MiB chunks against 78-95 ms with one buffer
 * (the hash of the bytes in memory alone: 67 ms).
 */
export async function localSha256(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

/**
 * Push from the first control plane's containerd: import every archive into a scratch namespace (the k8s.io one
 * stays untouched), tag each upstream name as its registry name, push. $1 archives, $2 tls|ca|insecure, $3 CA file,
 * then pairs. insecure: skip TLS verification, falling back to plain HTTP for a registry that speaks no TLS.
 */
const PUSH_SCRIPT = [
  'set -eu',
  'dir=$1 mode=$2 ca=$3; shift 3',
  'ns=airgap-k8s-push',
  'for f in "$dir"/*.tar; do [ -e "$f" ] || continue; ctr -n "$ns" images import "$f" >/dev/null; done',
  'while [ $# -gt 1 ]; do',
  '  src=$1 dst=$2; shift 2',
  '  ctr -n "$ns" images tag --force "$src" "$dst" >/dev/null',
  '  case $mode in',
  '    insecure) ctr -n "$ns" images push --skip-verify "$dst" || ctr -n "$ns" images push --plain-http "$dst" ;;',
  '    ca) ctr -n "$ns" images push --tlscacert "$ca" "$dst" ;;',
  '    *) ctr -n "$ns" images push "$dst" ;;',
  '  esac',
  'done',
].join('\n');
