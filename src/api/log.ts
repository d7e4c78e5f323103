// Structured logs: one JSON line per request and per job state change, to stderr. Callers pass fields, never
// bodies; every line also goes through a Redactor that knows the API tokens and every loaded cluster's secrets, so a
// value that should not be there is masked rather than written.
import { Redactor } from '../runner/redact.js';

/** Structured fields of a log line (flat: strings, numbers, booleans). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where the service writes its log: one line per event, secrets masked. */
export interface Logger {
  /** Logs a normal event. */
  info(msg: string, fields?: LogFields): void;
  /** Logs a failure. */
  error(msg: string, fields?: LogFields): void;
  /** values to mask in every later line, until the returned function is called (an install's secrets while it runs) */
  addSecrets(values: readonly string[]): () => void;
}

/**
 * A {@link Logger} writing one JSON object per line (`time`, `level`, `msg`, then the fields) to `write` (default
 * stderr), every registered secret masked.
 */
export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l), now: () => Date = () => new Date()): Logger {
  const secrets = maskedValues();
  const line = (level: 'info' | 'error', msg: string, fields: LogFields = {}) =>
    write(`${secrets.mask(JSON.stringify({ t: now().toISOString(), level, msg, ...fields }))}\n`);
  return {
    info: (msg, fields) => line('info', msg, fields),
    error: (msg, fields) => line('error', msg, fields),
    addSecrets: (values) => secrets.add(values),
  };
}

/** Values to mask in text, each held by whoever added it until they release it ({@link Logger.addSecrets}). */
export interface MaskedValues {
  /** masks `values` until the returned function is called (idempotent); a value added twice stays until both release */
  add(values: readonly string[]): () => void;
  /** `text` with every held value masked */
  mask(text: string): string;
}

export function maskedValues(): MaskedValues {
  const held = new Map<string, number>(); // value -> holders
  let redactor = new Redactor([]);
  const rebuild = () => (redactor = new Redactor([...held.keys()]));
  return {
    mask: (text) => redactor.text(text),
    add(values) {
      const added = [...new Set(values)];
      let changed = false;
      for (const v of added) {
        changed ||= !held.has(v);
        held.set(v, (held.get(v) ?? 0) + 1);
      }
      if (changed) rebuild();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const v of added) {
          const n = (held.get(v) ?? 1) - 1;
          if (n > 0) held.set(v, n);
          else held.delete(v);
        }
        rebuild();
      };
    },
  };
}

/** A {@link Logger} that writes nothing (tests, embedding apps with their own logging). */
export const silentLogger: Logger = { info() {}, error() {}, addSecrets: () => () => {} };
