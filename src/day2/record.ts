// What the last successful apply of a cluster applied: its spec (as the user wrote it; no secrets in it) and the
// whole plan it ran to (step ids and fingerprints, no file contents). The next apply plans only the difference
// (./change.ts). The CLI keeps it beside its journal (.airgap-k8s/<cluster>.applied.json). Pure.
import type { Plan } from '../plan/types.js';

export const RECORD_KIND = 'AppliedState';
export const RECORD_API_VERSION = 'airgap-k8s/v1alpha1';

export interface AppliedRecord {
  apiVersion: typeof RECORD_API_VERSION;
  kind: typeof RECORD_KIND;
  cluster: string;
  /** ISO time the apply finished */
  appliedAt: string;
  /** the spec text as applied */
  spec: string;
  /** the whole plan of that spec (not only the part the apply ran) */
  plan: Plan;
}

export function appliedRecord(cluster: string, spec: string, plan: Plan, at: Date): AppliedRecord {
  return { apiVersion: RECORD_API_VERSION, kind: RECORD_KIND, cluster, appliedAt: at.toISOString(), spec, plan };
}

export function recordText(r: AppliedRecord): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

/** Parses a record; throws with what is wrong (a hand-edited or foreign file must not steer an apply). */
export function parseRecord(text: string, source: string): AppliedRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const r = v as Partial<AppliedRecord>;
  const problems: string[] = [];
  if (r?.apiVersion !== RECORD_API_VERSION) problems.push(`apiVersion must be ${RECORD_API_VERSION}`);
  if (r?.kind !== RECORD_KIND) problems.push(`kind must be ${RECORD_KIND}`);
  if (typeof r?.cluster !== 'string') problems.push('cluster must be a string');
  if (typeof r?.spec !== 'string') problems.push('spec must be the applied spec text');
  if (typeof r?.appliedAt !== 'string') problems.push('appliedAt must be a time');
  if (!r?.plan || typeof r.plan !== 'object' || !Array.isArray(r.plan.phases) || r.plan.cluster !== r.cluster) problems.push('plan must be the plan of that cluster');
  if (problems.length > 0) throw new Error(`${source} is not an airgap-k8s applied-state record: ${problems.join('; ')}`);
  return r as AppliedRecord;
}
