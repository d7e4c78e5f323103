// The install pipeline, one path for every command and route: spec + secrets + the offline bundle on this machine
// + the executor kind -> render inputs -> files -> plan (prepareInstall), then the plan run over a pool of
// executors (runInstall). `airgap-k8s plan|apply|rehearse` and `POST /clusters` only parse their arguments, call
// these and present the result.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ClusterView, HostView } from '../spec/derive.js';
import type { RenderInputs, GeneratedFile } from '../generators/types.js';
import type { Secrets } from '../secrets/types.js';
import { outputPath, renderUnits, sortedFiles } from '../generators/index.js';
import { planFromUnits } from '../plan/build.js';
import type { Plan, Step } from '../plan/types.js';
import { inputsFromSecrets } from '../secrets/secrets.js';
import { localBundle, type BundleSource } from '../bundle/io/source.js';
import type { Journal } from '../runner/journal.js';
import { secretValues } from '../runner/redact.js';
import { runPlan, type RunEvent, type RunSummary } from '../runner/runner.js';
import { executorsFor, type ExecutorKind, type ExecutorPool, type ExecutorSettings } from './executors.js';
import { changePlan, type Applied, type ChangePlan } from '../day2/change.js';
import { missingInputs, readUpstream } from './inputs.js';

/**
 * What to install: the cluster's view and secrets, the executor kind, the bundle and, for a day-two change, the last
 * applied state.
 */
export interface InstallRequest {
  view: ClusterView;
  secrets: Secrets;
  executor: ExecutorKind;
  /** the unpacked offline bundle on this machine; default the spec's offline.bundleDir */
  bundleDir?: string | undefined;
  /**
   * What the last successful apply of this cluster applied (src/day2/record.ts): the plan is then only the change
   * (src/day2/change.ts), with the removal of hosts gone from the spec. Throws ChangeRefusedError when the change
   * cannot be applied to the running cluster.
   */
  applied?: Applied | undefined;
  /** with `applied`: run every step of the new plan (each probed), not only the changed ones */
  full?: boolean | undefined;
}

/** An install ready to run: its inputs, rendered files and plan, and what the plan needs from the bundle. */
export interface Prepared {
  view: ClusterView;
  secrets: Secrets;
  executor: ExecutorKind;
  /** what the generators were given (secrets, upstream texts from the bundle, the overlay of container nodes) */
  inputs: RenderInputs;
  files: GeneratedFile[];
  /** what runs: the whole plan, or with `applied` the change */
  plan: Plan;
  /** the spec's whole plan (what the next apply compares with, once this one succeeded) */
  fullPlan: Plan;
  /** with `applied`: the difference, the hosts to remove and the destructive steps that need confirmation */
  change?: ChangePlan;
  bundle: { dir: string; present: boolean };
  /**
   * What an install needs on this machine and does not find: the bundle directory itself, or bundle files the
   * render transforms. The plan has every step anyway; only a dry run may start while this is not empty.
   */
  missing: string[];
}

/** Spec -> inputs -> files -> plan. Reads the bundle's upstream texts (when present); touches no host. */
export function prepareInstall(r: InstallRequest): Prepared {
  const { view, secrets, executor } = r;
  const dir = bundleDirOf(view, r.bundleDir);
  const present = existsSync(dir);
  const { upstream, missing } = readUpstream(view, present ? dir : undefined);
  const inputs: RenderInputs = {
    ...inputsFromSecrets(secrets),
    upstream,
    // every kind host is a container on this machine's kernel: the container-node overlay (shown in the plan);
    // real hosts never get it
    ...(executor === 'kind' ? { overlay: 'container-node' as const } : {}),
  };
  const units = renderUnits(view, inputs);
  const files = sortedFiles(units);
  const fullPlan = planFromUnits(view, units, inputs);
  const change = r.applied ? changePlan(r.applied, { view, plan: fullPlan }, { full: r.full ?? false }) : undefined;
  return {
    view, secrets, executor, inputs, files, plan: change?.plan ?? fullPlan, fullPlan, ...(change ? { change } : {}),
    bundle: { dir, present }, missing: present ? missing : [dir],
  };
}

/** The bundle directory an install uses: the one given, or the spec's offline.bundleDir. */
export function bundleDirOf(view: ClusterView, given?: string): string {
  return resolve(given ?? view.cluster.spec.offline.bundleDir);
}

/** Throws MissingInputsError when an install of this kind could not start for lack of its inputs; cheap (existence
 * checks only), so a request can be refused before anything is reserved or rendered. */
export function checkStartable(view: ClusterView, executor: ExecutorKind, bundleDir?: string): void {
  if (executor === 'dry-run') return;
  const dir = bundleDirOf(view, bundleDir);
  const missing = missingInputs(view, dir);
  if (missing.length > 0) throw new MissingInputsError(dir, missing);
}

/** An install cannot start: what it needs on this machine is not there. */
export class MissingInputsError extends Error {
  constructor(
    readonly bundleDir: string,
    readonly missing: string[],
  ) {
    super(`the offline bundle at ${bundleDir} is needed and ${missing[0] === bundleDir ? 'does not exist' : `lacks ${missing.join(', ')}`}; nothing was started`);
    this.name = 'MissingInputsError';
  }
}

/** Throws MissingInputsError unless the prepared install may start (a dry run may, without its bundle). */
export function assertStartable(p: Prepared): void {
  if (p.executor !== 'dry-run' && p.missing.length > 0) throw new MissingInputsError(p.bundle.dir, p.missing);
}

/** How {@link runInstall} runs: the journal, concurrency, cancellation, events, executors and the bundle. */
export interface RunInstallOptions {
  journal: Journal;
  concurrency: number;
  signal: AbortSignal;
  /** Called with every runner event, redacted. */
  onEvent?: (e: RunEvent) => void;
  /** how executors are made (ssh known_hosts, dry-run delay, tests) */
  executors?: ExecutorSettings;
  /** the bundle, already verified by the caller (the CLI shows its progress); default: verified by the plan's preflight step */
  bundle?: BundleSource;
  /** the user confirmed the plan's destructive steps (`--yes`, `confirm=true`); without it such a plan never starts */
  confirmed?: boolean;
}

/** The plan drains, resets or deletes something and the user did not confirm it; nothing was started. */
export class UnconfirmedError extends Error {
  constructor(readonly steps: readonly Step[]) {
    super(`the plan has ${steps.length} destructive step${steps.length === 1 ? '' : 's'} and was not confirmed; nothing was started:\n${steps.map((s) => `  ${s.id}: ${s.description}`).join('\n')}`);
    this.name = 'UnconfirmedError';
  }
}

/** The plan's steps that need the user's confirmation. */
export function destructiveSteps(plan: Plan): Step[] {
  return plan.phases.flatMap((p) => p.steps).filter((s) => s.destructive);
}

/** Runs a prepared install. Real executors need their inputs (assertStartable); a dry run without the bundle
 * skips the steps that read it, each with reason `no-bundle`. Every executor is closed at the end. */
export async function runInstall(p: Prepared, o: RunInstallOptions): Promise<{ summary: RunSummary; executors: ExecutorPool }> {
  assertStartable(p);
  const bundle = o.bundle ?? (p.bundle.present ? localBundle(p.view, p.bundle.dir) : undefined);
  return runPlanOn(
    { plan: p.plan, view: p.view, secrets: p.secrets, executor: p.executor, files: p.files, extraHosts: p.change?.removed ?? [] },
    { ...o, ...(bundle ? { bundle } : { withoutBundle: p.bundle.dir }) },
  );
}

/** A plan on the hosts of a cluster: an install's, or a day-two operation's (src/day2). */
export interface PlanTarget {
  plan: Plan;
  view: ClusterView;
  secrets: Secrets;
  executor: ExecutorKind;
  /** rendered files the plan's write steps reference (none for most day-two plans) */
  files?: readonly GeneratedFile[];
  /** hosts not in the view that steps reach (a host being removed, as the last applied spec had it) */
  extraHosts?: readonly HostView[];
}

/**
 * The one way a plan runs: a pool of executors for its hosts (closed at the end), the runner with the secrets
 * masked, and the destructive-step guard (UnconfirmedError unless confirmed, before anything starts).
 */
export async function runPlanOn(
  t: PlanTarget,
  o: Omit<RunInstallOptions, 'bundle'> & { bundle?: BundleSource; withoutBundle?: string },
): Promise<{ summary: RunSummary; executors: ExecutorPool }> {
  const destructive = destructiveSteps(t.plan);
  if (destructive.length > 0 && !o.confirmed) throw new UnconfirmedError(destructive);
  const pool = executorsFor(t.executor, t.view, t.secrets, o.executors, t.extraHosts ?? []);
  try {
    const summary = await runPlan({
      plan: t.plan,
      files: new Map((t.files ?? []).map((f) => [outputPath(f), f.content])),
      executor: (host) => pool.get(host),
      clusterHost: t.view.firstControlPlane.name,
      journal: o.journal,
      probes: t.executor !== 'dry-run',
      concurrency: o.concurrency,
      secrets: secretValues(t.secrets),
      signal: o.signal,
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      ...(o.bundle ? { bundle: o.bundle } : {}),
      ...(o.withoutBundle ? { withoutBundle: o.withoutBundle } : {}),
    });
    return { summary, executors: pool };
  } finally {
    await pool.closeAll();
  }
}
