// A step's fingerprint: the hash of its whole definition (file digests, argv, probe). The journal keeps it so a
// changed step is not "done" any more; a plan diff compares it.
import { createHash } from 'node:crypto';
import type { Step } from './types.js';

/** A short digest of a step's definition (files, argv): the journal counts a step done only while it is unchanged. */
export function stepFingerprint(step: Step): string {
  return createHash('sha256').update(JSON.stringify(step)).digest('hex').slice(0, 16);
}
