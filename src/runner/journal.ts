// The journal of step states: what lets an interrupted install resume where it stopped and a second run of a
// finished install change nothing. Kept behind a tiny interface so the CLI stores it in a JSON file and the REST
// service in SQLite.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export type StepStatus = 'done' | 'skipped' | 'failed';

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

export interface Journal {
  get(stepId: string): StepRecord | undefined;
  put(stepId: string, rec: StepRecord): void;
  /** next monotonically increasing sequence number (persisted) */
  nextSeq(): number;
  /** drop these steps' records: a host removed from the cluster and reset has none of its steps done any more */
  forget(stepIds: readonly string[]): void;
  all(): Record<string, StepRecord>;
}

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
  override put(id: string, rec: StepRecord) {
    super.put(id, rec);
    this.flush();
  }
  override nextSeq() {
    const n = super.nextSeq();
    this.flush();
    return n;
  }
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
