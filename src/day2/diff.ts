// What an apply would change on a running cluster: the plan of the spec last applied against the plan of the new
// spec, step by step (a step's id names its phase, host and what; its fingerprint covers file digests and argv).
// Pure: `airgap-k8s diff`, `plan --diff` and the change plan (./change.ts) all read this.
import type { Plan, Step } from '../plan/types.js';
import { stepFingerprint } from '../plan/fingerprint.js';

/** A step in a plan diff: id, host, phase, description. */
export interface StepChange {
  id: string;
  host: string | null;
  phase: string;
  description: string;
}

/** The difference between two plans by step fingerprint: hosts added and removed, steps added, changed and removed. */
export interface PlanDiff {
  /** hosts in the new plan only, and in the old plan only (their removal is planned by ./change.ts) */
  addedHosts: string[];
  removedHosts: string[];
  /** steps new in the new plan */
  added: StepChange[];
  /** steps in both plans whose definition differs (new file content, new argv) */
  changed: StepChange[];
  /** steps of the old plan that the new one no longer has */
  removed: StepChange[];
}

const brief = (s: Step): StepChange => ({ id: s.id, host: s.host, phase: s.phase, description: s.description });
const stepsOf = (p: Plan): Step[] => p.phases.flatMap((ph) => ph.steps);
const hostsOf = (p: Plan): Set<string> => new Set(stepsOf(p).flatMap((s) => (s.host ? [s.host] : [])));

/** Only steps that act are compared: read-only checks (preflight, verify) run every time and change nothing. */
export function diffPlans(before: Plan, after: Plan): PlanDiff {
  const old = new Map(stepsOf(before).filter((s) => !s.readOnly).map((s) => [s.id, s]));
  const next = stepsOf(after).filter((s) => !s.readOnly);
  const nextIds = new Set(next.map((s) => s.id));
  const oldHosts = hostsOf(before);
  const newHosts = hostsOf(after);
  return {
    addedHosts: [...newHosts].filter((h) => !oldHosts.has(h)),
    removedHosts: [...oldHosts].filter((h) => !newHosts.has(h)),
    added: next.filter((s) => !old.has(s.id)).map(brief),
    changed: next.filter((s) => old.has(s.id) && stepFingerprint(old.get(s.id)!) !== stepFingerprint(s)).map(brief),
    removed: [...old.values()].filter((s) => !nextIds.has(s.id)).map(brief),
  };
}

export function isEmptyDiff(d: PlanDiff): boolean {
  return d.added.length + d.changed.length + d.removed.length === 0;
}

/** The difference per host (cluster-wide steps under "cluster"), as `airgap-k8s diff` prints it. */
export function formatDiff(cluster: string, d: PlanDiff): string {
  if (isEmptyDiff(d)) return `Cluster "${cluster}": no changes (the cluster is as the spec says, as far as the last apply knows)\n`;
  const out = [`Cluster "${cluster}": ${d.added.length} steps added, ${d.changed.length} changed, ${d.removed.length} removed`];
  if (d.addedHosts.length) out.push(`  hosts added:   ${d.addedHosts.join(', ')}`);
  if (d.removedHosts.length) out.push(`  hosts removed: ${d.removedHosts.join(', ')} (drained, reset and deleted from the cluster: needs --yes)`);
  const targets = [...new Set([...d.added, ...d.changed, ...d.removed].map((c) => c.host ?? 'cluster'))];
  for (const t of targets) {
    out.push('', `${t}:`);
    const mine = (list: StepChange[]) => list.filter((c) => (c.host ?? 'cluster') === t);
    for (const c of mine(d.added)) out.push(`  + ${c.id}  ${c.description}`);
    for (const c of mine(d.changed)) out.push(`  ~ ${c.id}  ${c.description}`);
    for (const c of mine(d.removed)) out.push(`  - ${c.id}  ${c.description}`);
  }
  return `${out.join('\n')}\n`;
}
