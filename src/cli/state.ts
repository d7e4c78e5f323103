// The CLI's memory of a cluster between applies, beside its journal: .airgap-k8s/<cluster>.applied.json (the last
// successful apply's spec and plan, src/day2/record.ts). Read before an apply to plan only the change; written
// after one succeeded.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { appliedRecord, parseRecord, recordText, type AppliedRecord } from '../day2/record.js';
import type { Applied } from '../day2/change.js';
import { parseSpec } from '../spec/load.js';
import { formatIssues } from '../spec/issues.js';
import { deriveView, type ClusterView } from '../spec/derive.js';
import type { Plan } from '../plan/types.js';
import type { Journal } from '../runner/journal.js';
import type { Io } from './io.js';

export const STATE_HELP = `  --state FILE        what the last successful apply applied (default <cluster>.applied.json beside the
                      journal): an apply then runs only what changed, and removes hosts gone from the spec
`;

export function journalFileArg(values: Record<string, unknown>, cluster: string, io: Io): string {
  return resolve(io.cwd, (values.journal as string | undefined) ?? `.airgap-k8s/${cluster}.journal.json`);
}

export function stateFileArg(values: Record<string, unknown>, cluster: string, io: Io): string {
  return values.state !== undefined ? resolve(io.cwd, values.state as string) : join(dirname(journalFileArg(values, cluster, io)), `${cluster}.applied.json`);
}

/** The last applied spec and plan, when this cluster was applied from here before. Throws on a broken record. */
export function readApplied(file: string): (Applied & { record: AppliedRecord }) | undefined {
  if (!existsSync(file)) return undefined;
  const record = parseRecord(readFileSync(file, 'utf8'), file);
  const r = parseSpec(record.spec);
  if (!r.ok) throw new Error(`${file}: the recorded spec no longer validates:\n${formatIssues(r.issues)}`);
  return { view: deriveView(r.spec), plan: record.plan, record };
}

export function writeApplied(file: string, view: ClusterView, plan: Plan): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, recordText(appliedRecord(view.name, JSON.stringify(view.cluster), plan, new Date())), { mode: 0o644 });
  renameSync(tmp, file);
}

/**
 * After hosts were removed and reset: their steps are not done any more, nor is their removal (re-adding one
 * installs it afresh; removing it again drains it again).
 */
export function forgetHosts(journal: Journal, hosts: readonly string[]): void {
  const gone = new Set(hosts);
  const ids = Object.keys(journal.all()).filter((id) => {
    const [phase, host, what] = id.split('/');
    return gone.has(host ?? '') || (phase === 'remove-nodes' && host === 'cluster' && gone.has(what ?? ''));
  });
  if (ids.length > 0) journal.forget(ids);
}
