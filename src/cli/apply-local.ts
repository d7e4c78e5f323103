// `apply` without --server and `rehearse`: a prepared install (src/install) run here with live progress.
import { resolve } from 'node:path';
import type { ClusterView } from '../spec/derive.js';
import type { Plan } from '../plan/types.js';
import type { Journal } from '../runner/journal.js';
import type { RunEvent, RunSummary } from '../runner/runner.js';
import type { BundleSource } from '../bundle/io/source.js';
import { runInstall, type ExecutorPool, type Prepared } from '../install/index.js';
import type { Io } from './io.js';
import { progressPrinter } from './progress.js';

/** What `apply` (without --server) and `rehearse` hand to applyLocal: the same install path for both. */
export interface LocalApply {
  /** from prepareInstall: the render and the plan */
  prepared: Prepared;
  /** bundleForApply's verified bundle (checked before any host is touched); absent only in a dry run without one */
  bundle?: BundleSource | undefined;
  journal: Journal;
  concurrency: number;
  verbose: boolean;
  knownHosts?: string | undefined;
  signal: AbortSignal;
  /** the user confirmed the plan's destructive steps (--yes) */
  confirmed?: boolean;
  io: Io;
  /** every run event, besides the progress lines */
  onEvent?: (e: RunEvent) => void;
}

/** Runs a prepared install (src/install) with live progress on stdout. */
export async function applyLocal(o: LocalApply): Promise<{ summary: RunSummary; plan: Plan; executors: ExecutorPool }> {
  const print = progressPrinter((s) => o.io.stdout(s), { verbose: o.verbose });
  const { summary, executors } = await runInstall(o.prepared, {
    journal: o.journal,
    concurrency: o.concurrency,
    signal: o.signal,
    confirmed: o.confirmed ?? false,
    executors: { knownHostsFile: o.knownHosts },
    ...(o.bundle ? { bundle: o.bundle } : {}),
    onEvent: (e) => {
      print(e);
      o.onEvent?.(e);
    },
  });
  return { summary, plan: o.prepared.plan, executors };
}

/** --bundle DIR, or the spec's offline.bundleDir, relative to the working directory. */
export function bundleDirArg(view: ClusterView, values: Record<string, unknown>, io: Io): string {
  return resolve(io.cwd, (values.bundle as string | undefined) ?? view.cluster.spec.offline.bundleDir);
}

/** What is missing from this machine for an install, in one phrase. */
export function missingText(p: Prepared): string {
  return p.missing[0] === p.bundle.dir ? `no offline bundle at ${p.bundle.dir} (--bundle DIR)` : `the offline bundle at ${p.bundle.dir} lacks ${p.missing.join(', ')}`;
}

