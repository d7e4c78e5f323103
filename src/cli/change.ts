// `apply` on a cluster applied before, and `diff`: the last applied state (./state.ts) + the new spec -> the
// change plan (src/day2/change.ts), printed before anything runs; refusals and unconfirmed destructive steps stop
// it with exit 2 and nothing started.
import type { ClusterView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';
import { prepareInstall, type ExecutorKind, type Prepared } from '../install/index.js';
import { ChangeRefusedError } from '../day2/change.js';
import { formatDiff, isEmptyDiff } from '../day2/diff.js';
import { bundleDirArg } from './apply-local.js';
import { readApplied } from './state.js';
import type { Io } from './io.js';

/** Prepared install (whole, or the change since the last apply); undefined after printing why it cannot start. */
export function prepareChange(view: ClusterView, secrets: Secrets, executor: ExecutorKind, values: Record<string, unknown>, stateFile: string, io: Io): { prepared: Prepared } | undefined {
  let applied;
  try {
    applied = readApplied(stateFile);
  } catch (e) {
    io.stderr(`apply: ${(e as Error).message}\n  (move the file away to plan the whole install again)\n`);
    return undefined;
  }
  let prepared: Prepared;
  try {
    prepared = prepareInstall({ view, secrets, executor, bundleDir: bundleDirArg(view, values, io), applied, full: !!values.full });
  } catch (e) {
    if (e instanceof ChangeRefusedError) {
      io.stderr(`apply: ${e.message}\nnothing was started\n`);
      return undefined;
    }
    throw e;
  }
  const c = prepared.change;
  if (c) {
    io.stdout(`last applied ${applied!.record.appliedAt} (${stateFile})\n${formatDiff(view.name, c.diff)}`);
    if (isEmptyDiff(c.diff) && c.removed.length === 0 && !values.full) io.stdout('nothing to change; the checks run\n');
    if (c.destructive.length > 0 && !values.yes) {
      io.stderr(`apply: the plan has ${c.destructive.length} destructive steps; run again with --yes to confirm them (nothing was started):\n${c.destructive.map((s) => `  ${s.id}: ${s.description}`).join('\n')}\n`);
      return undefined;
    }
  }
  return { prepared };
}

export const DIFF_USAGE = (secretsHelp: string, stateHelp: string) => `Usage: airgap-k8s diff [SPEC] [--json] [options]

What \`apply\` would change on the cluster as it was last applied from here: per host, the steps added (+),
changed (~) and removed (-), the hosts added and removed, and every destructive step (drain, reset, etcd member
removal, Node deletion) that \`apply --yes\` would run. Touches no host. Refusals (a change a running cluster
cannot take: its endpoint, subnets, a host's address or role): exit 2. Also: \`airgap-k8s plan SPEC --diff\`.
  --json              {diff, destructive, plan} as JSON
  --executor E        the executor the apply will use (default: the one the last apply used, as its plan shows)
  --bundle DIR        the unpacked offline bundle on this machine (default: spec.offline.bundleDir)
  --journal FILE      locates the state file (default .airgap-k8s/<cluster>.journal.json)
${stateHelp}${secretsHelp}`;

/** `diff` and `plan --diff`: prints the change; exit 0 (also when there is none), 2 when it cannot be applied. */
export function diffCommand(view: ClusterView, secrets: Secrets, values: Record<string, unknown>, stateFile: string, io: Io): number {
  let applied;
  try {
    applied = readApplied(stateFile);
  } catch (e) {
    io.stderr(`diff: ${(e as Error).message}\n`);
    return 2;
  }
  if (!applied) {
    io.stderr(`diff: no applied state at ${stateFile}: this cluster was not applied from here (apply runs the whole plan)\n`);
    return 2;
  }
  const executor = (values.executor as ExecutorKind | undefined) ?? (applied.plan.overlay ? 'kind' : 'ssh');
  let prepared: Prepared;
  try {
    prepared = prepareInstall({ view, secrets, executor, bundleDir: bundleDirArg(view, values, io), applied });
  } catch (e) {
    if (e instanceof ChangeRefusedError) {
      io.stderr(`diff: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const c = prepared.change!;
  if (values.json) {
    io.stdout(`${JSON.stringify({ diff: c.diff, destructive: c.destructive.map((s) => ({ id: s.id, host: s.host, description: s.description })), plan: c.plan }, null, 2)}\n`);
    return 0;
  }
  io.stdout(formatDiff(view.name, c.diff));
  if (c.destructive.length > 0) io.stdout(`\ndestructive (apply needs --yes):\n${c.destructive.map((s) => `  ${s.id}: ${s.description}`).join('\n')}\n`);
  const n = c.plan.phases.reduce((k, p) => k + p.steps.length, 0);
  io.stdout(`\napply would run ${n} steps in ${c.plan.phases.length} phases (${c.plan.phases.map((p) => p.name).join(', ') || 'none'})\n`);
  return 0;
}
