// What the install page shows, as data: the steps of the plan with their states, brought up to date by the
// install's events (each applied once, by its seq), the phases x hosts grid, per-phase timing, progress and the
// remaining-time estimate. No DOM here, so the unit tier tests it.
export type JobStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
export const isTerminal = (s: JobStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export interface Issue {
  path: string;
  code: string;
  message: string;
}

/** GET /clusters items (ClusterSummary) */
export interface ClusterSummary {
  id: string;
  name: string;
  status: JobStatus;
  phase: string | null;
  executor: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  createdBy: string | null;
  error: string | null;
}

/** GET /clusters/{id}: the StepState schema, mirrored (the console imports no server code: it knows the API by its document) */
export interface StepView {
  id: string;
  phase: string;
  host: string | null;
  kind: string;
  description: string;
  readOnly: boolean;
  /** interrupted: in flight when the install was cancelled or the service stopped; a resume runs it again */
  state: 'pending' | 'running' | 'retrying' | 'done' | 'skipped' | 'failed' | 'interrupted';
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  changed: boolean | null;
  reason: string | null;
  error: string | null;
}

export interface ClusterDetail extends ClusterSummary {
  warnings: Issue[];
  runs: number;
  steps: StepView[];
}

/** GET /clusters/{id}/plan, as far as the console reads it */
export interface PlanDoc {
  phases: { name: string; serial: boolean; steps: { id: string; probe?: Record<string, unknown> }[] }[];
}

/** One event of GET /clusters/{id}/events (the Event schema); fields by type */
export interface InstallEvent {
  seq: number;
  at: string;
  type: string;
  stepId?: string;
  host?: string;
  phase?: string;
  attempt?: number;
  changed?: boolean;
  durationMs?: number;
  reason?: string;
  error?: string;
  command?: string;
  willRetry?: boolean;
  /** step-failed: the install was stopping (cancel, service stop), so the step was cut short rather than failed */
  interrupted?: boolean;
  text?: string;
  status?: JobStatus;
  ok?: boolean;
}

/**
 * How a step is shown: the issue's five states, with done split by whether it changed the host, and interrupted (cut
 * short by a cancel or a stop: not a failure, it runs again on resume).
 */
export type ShownState = 'pending' | 'running' | 'interrupted' | 'probe' | 'skipped' | 'changed' | 'ok' | 'failed';
/** Most telling first: a cell shows the first of these that any of its steps has. */
export const SHOWN_STATES: readonly ShownState[] = ['failed', 'running', 'interrupted', 'pending', 'changed', 'probe', 'skipped', 'ok'];

export interface StepModel extends StepView {
  /** the full command of the last failure (step-failed `command`) */
  command: string | null;
  /** step-output texts, in order (already redacted by the service) */
  output: string[];
}

export const shownState = (s: StepModel): ShownState => {
  switch (s.state) {
    case 'pending':
      return 'pending';
    case 'running':
    case 'retrying':
      return 'running';
    case 'failed':
      return 'failed';
    case 'interrupted':
      return 'interrupted';
    case 'skipped':
      return s.reason === 'probe' ? 'probe' : 'skipped';
    case 'done':
      return s.changed ? 'changed' : 'ok';
  }
};

/** The column a step belongs to: its host, or CLUSTER for cluster steps. */
export const CLUSTER = '';
const column = (s: { host: string | null }) => s.host ?? CLUSTER;

const OUTPUT_LIMIT = 500;

export class InstallModel {
  status: JobStatus;
  reason: string | null;
  startedAt: string | null;
  /** when it reached its last terminal status; null while it runs (again, after a resume) */
  finishedAt: string | null;
  lastSeq = 0;
  /** events applied (each seq once) */
  applied = 0;
  readonly steps: StepModel[];
  private readonly byId: Map<string, StepModel>;
  /** phases in plan order, with whether their hosts run one at a time */
  readonly phases: { name: string; serial: boolean }[];
  readonly hosts: string[];
  /** per phase: when it last started, and how long it took once finished */
  readonly phaseTimes = new Map<string, { startedAt: string; durationMs: number | null; ok: boolean | null }>();

  constructor(
    readonly detail: ClusterDetail,
    plan?: PlanDoc,
  ) {
    this.status = detail.status;
    this.reason = detail.error;
    this.startedAt = detail.startedAt;
    this.finishedAt = detail.finishedAt;
    this.steps = detail.steps.map((s) => ({ ...s, command: null, output: [] }));
    this.byId = new Map(this.steps.map((s) => [s.id, s]));
    const serial = new Map(plan?.phases.map((p) => [p.name, p.serial]) ?? []);
    this.phases = [...new Set(this.steps.map((s) => s.phase))].map((name) => ({ name, serial: serial.get(name) ?? false }));
    const hosts = [...new Set(this.steps.map(column))];
    this.hosts = [...hosts.filter((h) => h !== CLUSTER), ...hosts.filter((h) => h === CLUSTER)];
  }

  step(id: string): StepModel | undefined {
    return this.byId.get(id);
  }

  /** Apply one event; false when it was seen before (a replay after a reconnect), so nothing is counted twice. */
  apply(e: InstallEvent): boolean {
    if (!(e.seq > this.lastSeq)) return false;
    this.lastSeq = e.seq;
    this.applied++;
    const s = e.stepId === undefined ? undefined : this.byId.get(e.stepId);
    switch (e.type) {
      case 'run-started':
        this.startedAt ??= e.at;
        break;
      case 'status':
        if (e.status) this.status = e.status;
        this.finishedAt = e.status && isTerminal(e.status) ? e.at : null;
        this.reason = e.reason ?? (e.status === 'failed' ? this.reason : null);
        break;
      case 'phase-started':
        if (e.phase) this.phaseTimes.set(e.phase, { startedAt: e.at, durationMs: null, ok: null });
        break;
      case 'phase-finished':
        if (e.phase) this.phaseTimes.set(e.phase, { startedAt: this.phaseTimes.get(e.phase)?.startedAt ?? e.at, durationMs: e.durationMs ?? null, ok: e.ok ?? null });
        break;
      case 'step-started':
        if (s) Object.assign(s, { state: 'running', attempts: e.attempt ?? s.attempts, startedAt: e.at, finishedAt: null, error: null });
        break;
      case 'step-finished':
        if (s) Object.assign(s, { state: 'done', changed: e.changed ?? null, durationMs: e.durationMs ?? null, finishedAt: e.at, reason: null, error: null });
        break;
      case 'step-skipped':
        if (s) Object.assign(s, { state: 'skipped', reason: e.reason ?? null, finishedAt: e.at });
        break;
      case 'step-failed':
        if (s) {
          Object.assign(s, { state: e.interrupted ? 'interrupted' : e.willRetry ? 'retrying' : 'failed', error: e.error ?? null, command: e.command ?? s.command, attempts: e.attempt ?? s.attempts });
          if (!e.willRetry) Object.assign(s, { durationMs: e.durationMs ?? null, finishedAt: e.at });
        }
        break;
      case 'step-output':
        if (s && e.text !== undefined) {
          s.output.push(e.text);
          if (s.output.length > OUTPUT_LIMIT) s.output.splice(0, s.output.length - OUTPUT_LIMIT);
        }
        break;
    }
    return true;
  }

  stepsIn(phase: string, host: string): StepModel[] {
    return this.steps.filter((s) => s.phase === phase && column(s) === host);
  }

  /** One grid cell: how many steps, of which in each shown state, and the state the cell shows. */
  cell(phase: string, host: string): { total: number; counts: Partial<Record<ShownState, number>>; state: ShownState | null } {
    const counts: Partial<Record<ShownState, number>> = {};
    const steps = this.stepsIn(phase, host);
    for (const s of steps) counts[shownState(s)] = (counts[shownState(s)] ?? 0) + 1;
    return { total: steps.length, counts, state: SHOWN_STATES.find((st) => counts[st]) ?? null };
  }

  /** Steps finished (done or skipped), failed, and interrupted (neither: they run again on resume), of all. */
  progress(): { total: number; finished: number; failed: number; interrupted: number } {
    let finished = 0;
    let failed = 0;
    let interrupted = 0;
    for (const s of this.steps) {
      if (s.state === 'done' || s.state === 'skipped') finished++;
      if (s.state === 'failed') failed++;
      if (s.state === 'interrupted') interrupted++;
    }
    return { total: this.steps.length, finished, failed, interrupted };
  }

  /** The remaining time of a running install (see estimateRemaining), or null when there is no basis or it is not running. */
  remaining(now: number): { ms: number; basis: number } | null {
    if (isTerminal(this.status)) return null;
    return estimateRemaining(this.steps, new Set(this.phases.filter((p) => p.serial).map((p) => p.name)), now);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * What is left, from the durations of the steps that ran (done, not skipped): each step not finished costs the
 * median duration of finished steps of its kind (all finished steps when none of its kind has run yet), minus what
 * a running one has already spent. Phases run one after another; within a phase the hosts run side by side (one at a
 * time in a serial phase) and each host's steps in turn. Fewer than 3 finished steps: no estimate (null).
 */
export function estimateRemaining(steps: readonly StepView[], serialPhases: ReadonlySet<string>, now: number): { ms: number; basis: number } | null {
  const ran = steps.filter((s) => s.state === 'done' && s.durationMs !== null);
  if (ran.length < 3) return null;
  const byKind = new Map<string, number[]>();
  for (const s of ran) byKind.set(s.kind, [...(byKind.get(s.kind) ?? []), s.durationMs!]);
  const all = median(ran.map((s) => s.durationMs!));
  const cost = (s: StepView) => {
    const kind = byKind.get(s.kind);
    const est = kind ? median(kind) : all;
    // an interrupted step starts again from the beginning
    if (s.state === 'pending' || s.state === 'interrupted') return est;
    const spent = s.startedAt ? Math.max(0, now - Date.parse(s.startedAt)) : 0;
    return Math.max(0, est - spent);
  };
  const lanes = new Map<string, Map<string, number>>();
  for (const s of steps) {
    if (s.state !== 'pending' && s.state !== 'running' && s.state !== 'retrying' && s.state !== 'interrupted') continue;
    const phase = lanes.get(s.phase) ?? new Map<string, number>();
    phase.set(column(s), (phase.get(column(s)) ?? 0) + cost(s));
    lanes.set(s.phase, phase);
  }
  let ms = 0;
  for (const [phase, hosts] of lanes) {
    const per = [...hosts.values()];
    ms += serialPhases.has(phase) ? per.reduce((a, b) => a + b, 0) : Math.max(...per);
  }
  return { ms: Math.round(ms), basis: ran.length };
}

/**
 * A step's error with the cause first. Executor errors read `<host>: exit code <n>: <stderr tail> (running
 * `<command start>…`)`: the stderr tail is the cause; host and exit code follow; the command is in its own field.
 */
export function splitError(error: string): { cause: string; host: string | null; exitCode: number | null } {
  const m = /^([^\s:]+): exit code (\d+): ([\s\S]*?)(?: \(running `[\s\S]*`\))?$/.exec(error);
  if (!m) return { cause: error, host: null, exitCode: null };
  return { cause: m[3]!.trim() || `exit code ${m[2]}`, host: m[1]!, exitCode: Number(m[2]) };
}

/** 61234 -> "1 min 1 s"; 950 -> "950 ms" */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}
