// Helpers of the consumer tier: run a program in a consumer project, probe what an import loads, type-check and
// compile examples/ there (against the INSTALLED package, as a user's compiler sees it).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 120_000): Ran {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Heavy modules: native code, the HTTP stack, the docker client. */
export const HEAVY = /\/node_modules\/(ssh2|better-sqlite3|cpu-features|hono|@hono\/[^/]+|dockerode|docker-modem|testcontainers)\//;

export interface Probe {
  error?: string;
  resolved: string[];
  required: string[];
  dlopen: string[];
}

/** What importing `specifier` in the project loads (test/consumer/probe.mjs). */
export function probe(root: string, project: string, specifier: string): Probe {
  for (const f of ['probe.mjs', 'probe-hooks.mjs']) copyFileSync(join(root, 'test/consumer', f), join(project, f));
  const r = run(process.execPath, ['probe.mjs', specifier], project);
  if (r.code !== 0) throw new Error(`probe ${specifier}: exit ${r.code}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Probe;
}

/** Everything an import loaded, as one list of paths/URLs. */
export const loaded = (p: Probe): string[] => [...p.resolved, ...p.required, ...p.dlopen];

/**
 * Copies examples/<names> into the project and compiles them with the checkout's tsc: strict, NodeNext, and
 * skipLibCheck off, so the installed package's declarations are checked too. Returns tsc's result; the JavaScript
 * lands in <project>/build/<name>/.
 */
export function compileExamples(root: string, project: string, names: readonly string[]): Ran {
  for (const n of names) cpSync(join(root, 'examples', n), join(project, 'examples', n), { recursive: true });
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        outDir: 'build',
        rootDir: 'examples',
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
      },
      include: names.map((n) => `examples/${n}/**/*.ts`),
    }),
  );
  return run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
}
