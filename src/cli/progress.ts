// Live progress of a run in the terminal: one line per step outcome with a running count and elapsed time,
// phase headers, and failures with their (already redacted) error. Works the same on a TTY and in CI logs.
import type { RunEvent } from '../runner/runner.js';

export function progressPrinter(write: (s: string) => void, opts: { verbose?: boolean } = {}): (e: RunEvent) => void {
  let total = 0;
  let done = 0;
  let t0 = Date.now();
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const elapsed = () => secs(Date.now() - t0);
  const count = () => `[${String(done).padStart(String(total).length)}/${total}]`;
  const lastProgress = new Map<string, number>();
  const mib = (n: number) => (n / 1048576).toFixed(n >= 100 * 1048576 ? 0 : 1);
  return (e) => {
    switch (e.type) {
      case 'run-started':
        total = e.steps;
        t0 = Date.now();
        write(`Cluster "${e.cluster}": ${e.phases} phases, ${e.steps} steps\n`);
        break;
      case 'phase-started':
        write(`\n== ${e.phase} (${e.steps} steps) ${elapsed()}\n`);
        break;
      case 'step-finished':
        done++;
        write(`${count()} ${e.host.padEnd(10)} ${e.changed ? 'changed' : 'ok     '} ${e.stepId} (${secs(e.durationMs)})\n`);
        break;
      case 'step-skipped':
        done++;
        if (opts.verbose) write(`${count()} ${e.host.padEnd(10)} skipped ${e.stepId} (${e.reason})\n`);
        break;
      case 'step-failed':
        // a step the cancel (or a stop) cut short did not fail: it is not counted as finished, and a resume runs it again
        if (e.interrupted) {
          write(`${count()} ${e.host.padEnd(10)} interrupted ${e.stepId} (runs again on resume)\n`);
          break;
        }
        if (!e.willRetry) done++;
        write(`${count()} ${e.host.padEnd(10)} ${e.willRetry ? 'retry  ' : 'FAILED '} ${e.stepId}: ${e.error}\n`);
        // the whole command under a final failure (the error names only its start), to rerun it by hand
        if (!e.willRetry && e.command && (opts.verbose || e.command.length <= 2000)) write(`${e.command.replace(/^/gm, '        command| ')}\n`);
        break;
      case 'step-progress': {
        // uploads: a line per step at most every 5 s (and one at the end), the same on a TTY and in CI logs
        const now = Date.now();
        const key = `${e.host}\0${e.stepId}`;
        const prev = lastProgress.get(key) ?? 0;
        if (e.bytes < e.total && now - prev < 5_000) break;
        if (e.bytes >= e.total && prev === -1) break;
        lastProgress.set(key, e.bytes >= e.total ? -1 : now);
        const pct = e.total > 0 ? Math.floor((100 * e.bytes) / e.total) : 100;
        write(`${count()} ${e.host.padEnd(10)} ${String(pct).padStart(3)}%    ${e.stepId} ${mib(e.bytes)}/${mib(e.total)} MiB${e.path && e.bytes < e.total ? ` ${e.path}` : ''}\n`);
        break;
      }
      case 'step-output':
        if (opts.verbose) write(e.text.replace(/^/gm, `    ${e.host}| `).replace(/\|\s*$/, '|\n'));
        break;
      case 'phase-finished':
        if (!e.ok) write(`== ${e.phase} did not finish (${secs(e.durationMs)})\n`);
        break;
      case 'run-finished':
        write(
          `\n${e.ok ? 'done' : e.cancelled ? 'cancelled' : 'FAILED'} in ${secs(e.durationMs)}: ${e.changed} changed, ${e.skipped} skipped, ${e.failed} failed\n`,
        );
        break;
      default:
        break;
    }
  };
}
