// An Io for running CLI commands in-process: everything written to stdout and stderr is kept for the assertions.
import { readFileSync } from 'node:fs';
import type { Io } from '../../src/cli/commands.js';
import { ROOT } from './fixtures.js';

export function capture(cwd = ROOT): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout(s: string) {
      io.out += s;
    },
    stderr(s: string) {
      io.err += s;
    },
    readFile: (p: string) => readFileSync(p, 'utf8'),
    cwd,
    isTTY: false,
  };
  return io;
}
