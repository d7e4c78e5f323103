// The consumer tier's one setup (a vitest globalSetup): the package as its users get it. `npm pack` (which builds),
// then the tarball installed into an empty project as a user who only generates would: `npm install <tarball>`,
// from the local npm cache where it can (--prefer-offline), timed. That project ("light") holds airgap-k8s and its
// dependencies only. A second project ("full") is a copy of it with the optional peer dependencies: hono's family
// installed from the cache, the native ones (better-sqlite3, ssh2) and vitest linked in from this checkout's
// node_modules, already built: installing those from the registry compiles better-sqlite3 for minutes, which the
// README's measurement covers (scripts/measure-install.sh), not every run.
// Every test file of the tier shares these two projects; both are removed at the end.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What the tests get (inject('consumer')). */
export interface Consumer {
  root: string;
  tarball: string;
  light: string;
  full: string;
  installMs: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    consumer: Consumer;
  }
}

/** Installed into the full project from the npm cache: the optional peers that are plain JavaScript (hono's family
 * shares zod with airgap-k8s, so it must resolve from the project, not through a link). */
export const INSTALLED = ['hono', '@hono/node-server', '@hono/zod-openapi'];
/** Linked in from this checkout: the peers with native parts (already built here), vitest (the conformance suite's
 * runner must be the instance it imports) and better-sqlite3's types. */
export const LINKED = ['better-sqlite3', 'ssh2', 'testcontainers', 'vitest', '@types/better-sqlite3'];

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'airgap-k8s-consumer-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { filename: string }[];
  const tarball = join(dir, packed[0]!.filename);

  const light = join(dir, 'light');
  mkdirSync(light);
  writeFileSync(join(light, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  const t0 = performance.now();
  execFileSync('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: light, stdio: ['ignore', 'ignore', 'inherit'] });
  const installMs = performance.now() - t0;

  const full = join(dir, 'full');
  cpSync(light, full, { recursive: true, verbatimSymlinks: true });
  const versions = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
  execFileSync('npm', ['install', ...INSTALLED.map((n) => `${n}@${versions.peerDependencies[n]}`), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: full, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const name of LINKED) {
    mkdirSync(dirname(join(full, 'node_modules', name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(full, 'node_modules', name), 'dir');
  }
  project.provide('consumer', { root: ROOT, tarball, light, full, installMs });
  return () => rmSync(dir, { recursive: true, force: true });
}
