// The journal of step states: what lets an interrupted install resume where it stopped and a second run of a
// finished install change nothing. Kept behind a tiny interface so the CLI stores it in a JSON file and the REST
// service in SQLite.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** How a step ended in a run. */
export type StepStatus = 'done' | 'skipped' | 'failed';

/**
 * What the journal remembers of a step: its status, the fingerprint of its definition, when it last changed its host
 * and how long it took.
 */
export interface StepRecord {
  status: StepStatus;
  /** fingerprint of the step definition; a changed step (new file content, new argv) is not "done" any more */
  fingerprint: string;
  /** journal sequence number when the step last changed something on its host (0 = never) */
  changedSeq: number;
  /** journal sequence number when the step last completed (done or skipped) */
  completedSeq: number;
  durationMs: number;
  error?: string;
}

/**
 * Where a run remembers its finished steps, so an interrupted run resumes without repeating them. {@link MemoryJournal}
 * and {@link FileJournal} are built in; the REST service keeps one in SQLite.
 */
export interface Journal {
  /** The record of a step, if it ever finished or failed. */
  get(stepId: string): StepRecord | undefined;
  /** Records how a step ended (persisted before the run goes on). */
  put(stepId: string, rec: StepRecord): void;
  /** next monotonically increasing sequence number (persisted) */
  nextSeq(): number;
  /** drop these steps' records: a host removed from the cluster and reset has none of its steps done any more */
  forget(stepIds: readonly string[]): void;
  /** Every record, by step id. */
  all(): Record<string, StepRecord>;
}

/** A journal in memory: nothing survives the process (tests, dry runs, one-shot runs). */
export class MemoryJournal implements Journal {
  protected steps: Record<string, StepRecord> = {};
  protected seq = 0;
  get(id: string) {
    return this.steps[id];
  }
  put(id: string, rec: StepRecord) {
    this.steps[id] = rec;
  }
  nextSeq() {
    return ++this.seq;
  }
  forget(stepIds: readonly string[]) {
    for (const id of stepIds) delete this.steps[id];
  }
  all() {
    return { ...this.steps };
  }
}

/** A JSON file, rewritten atomically on every change (small: one record per step). */
export class FileJournal extends MemoryJournal {
  constructor(readonly file: string) {
    super();
    if (existsSync(file)) {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { seq: number; steps: Record<string, StepRecord> };
      this.seq = data.seq;
      this.steps = data.steps;
    }
  }
  /** Records how a step ended and writes the file (atomically) before returning. */
  override put(id: string, rec: StepRecord) {
    super.put(id, rec);
    this.flush();
  }
  /** The next sequence number, written to the file before it is returned. */
  override nextSeq() {
    const n = super.nextSeq();
    this.flush();
    return n;
  }
  /** Drops these steps' records and writes the file. */
  override forget(stepIds: readonly string[]) {
    super.forget(stepIds);
    this.flush();
  }
  private flush() {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ seq: this.seq, steps: this.steps }, null, 1), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
