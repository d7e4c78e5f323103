#!/usr/bin/env node
// airgap-k8s command line: the same library the REST API uses, for a terminal.
// Exit codes: 0 success, 1 failure while working, 2 bad input (spec issues, usage).
import { readFileSync } from 'node:fs';

import { run, type Io } from './commands.js';

const io: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readFile: (p) => readFileSync(p, 'utf8'),
  cwd: process.cwd(),
  isTTY: !!process.stdout.isTTY,
};

try {
  process.exitCode = await run(process.argv.slice(2), io);
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`airgap-k8s: ${msg}\n`);
  process.exitCode = 1;
}

