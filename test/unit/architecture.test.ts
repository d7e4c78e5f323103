// The architecture's rules (.dependency-cruiser.mjs) hold over src/, and each rule bites: a throwaway tree planted
// with one violation of every rule, cruised with the same rule set, reports exactly those violations.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function rules(): Promise<ICruiseOptions> {
  return extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.mjs'));
}

/** Cruises `src` under baseDir with the project's rules; baseDir holds a tsconfig.json. */
async function violations(baseDir: string): Promise<IViolation[]> {
  const options = await rules();
  const result = await cruise(
    ['src'],
    { ...options, baseDir, tsConfig: { fileName: join(baseDir, 'tsconfig.json') } },
    {},
    { tsConfig: extractTSConfig(join(baseDir, 'tsconfig.json')) },
  );
  return (result.output as ICruiseResult).summary.violations;
}

/** One violation as a reader wants it: the rule, the import, and the rule's comment saying what to do. */
function describeViolation(v: IViolation, comments: Map<string, string>): string {
  const cycle = v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' -> ')})` : '';
  return `${v.rule.name}: ${v.from} -> ${v.to}${cycle}\n    ${comments.get(v.rule.name) ?? ''}`;
}

describe('architecture: the dependency rules', () => {
  it('hold over src/ (npm run lint:deps prints the same)', async () => {
    const options = await rules();
    const comments = new Map((options.ruleSet?.forbidden ?? []).map((r) => [r.name ?? '', r.comment ?? '']));
    const found = (await violations(ROOT)).map((v) => describeViolation(v, comments));
    expect(found, `\n${found.join('\n')}\n`).toEqual([]);
  }, 60_000);

  describe('bite: a planted violation of each rule is reported, and nothing else', () => {
    let dir: string;
    const put = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'airgap-k8s-architecture-'));
      put('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
      // allowed: spec, secrets types, path and crypto; a test file may import anything
      put('src/spec/derive.ts', 'export const view = 1;\n');
      put('src/secrets/types.ts', 'export interface Secrets { token: string }\n');
      put('src/generators/fine.ts', [
        "import { createHash } from 'node:crypto';",
        "import { posix } from 'node:path';",
        "import { view } from '../spec/derive.js';",
        "import type { Secrets } from '../secrets/types.js';",
        'export const fine = (s: Secrets) => createHash("sha256").update(posix.join(s.token, String(view))).digest("hex");',
        '',
      ].join('\n'));
      put('src/generators/fine.test.ts', "import { readFileSync } from 'node:fs';\nimport { bad } from '../executors/greedy.js';\nexport const t = [readFileSync, bad];\n");
      // a generator reads a file and reaches the install pipeline; an executor imports a generator
      put('src/install/pipeline.ts', 'export const install = (s: string) => s;\n');
      put('src/generators/leaky/leaky.ts', "import { readFileSync } from 'node:fs';\nimport { install } from '../../install/pipeline.js';\nexport const leaky = () => install(readFileSync('/etc/hostname', 'utf8'));\n");
      put('src/executors/greedy.ts', "import { leaky } from '../generators/leaky/leaky.js';\nexport const bad = leaky;\n");
      // the plan spawns a process and uses an executor
      put('src/plan/build.ts', "import { spawnSync } from 'node:child_process';\nimport { bad } from '../executors/greedy.js';\nexport const plan = [spawnSync, bad];\n");
      // the API drives an executor itself (the known exceptions are two other file names)
      put('src/api/routes.ts', "import { bad } from '../executors/greedy.js';\nexport const routes = bad;\n");
      put('src/cli/main.ts', "import { routes } from '../api/routes.js';\nexport const main = routes;\n");
      // the runner imports both presenters and a test helper
      put('src/runner/runner.ts', [
        "import { main } from '../cli/main.js';",
        "import { routes } from '../api/routes.js';",
        "import { fake } from '../bundle/io/testing.js';",
        'export const run = (s: string) => [s, main, routes, fake];',
        '',
      ].join('\n'));
      put('src/bundle/io/testing.ts', "export const fake = 'fake';\n");
      // the bundle's pure part reads the disk and imports its I/O part
      put('src/bundle/io/verify.ts', "export const verify = 1;\n");
      put('src/bundle/contents.ts', "import { statSync } from 'node:fs';\nimport { verify } from './io/verify.js';\nexport const contents = [statSync, verify];\n");
      // the console (a browser page) reaches for a Node builtin and library code; the server imports the console
      put('src/console/page.ts', "import { readFileSync } from 'node:fs';\nimport { view } from '../spec/derive.js';\nexport const page = [readFileSync, view];\n");
      put('src/api/serve-console.ts', "import { page } from '../console/page.js';\nexport const served = page;\n");
      // the plan reaches hono through a spec module (an installed package, as a user's node_modules holds it)
      put('node_modules/hono/package.json', JSON.stringify({ name: 'hono', version: '4.0.0', type: 'module', main: 'index.js' }));
      put('node_modules/hono/index.js', 'export const Hono = 1;\n');
      put('src/spec/serve-spec.ts', "import { Hono } from 'hono';\nexport const served = Hono;\n");
      put('src/plan/lean.ts', "import { served } from '../spec/serve-spec.js';\nexport const lean = served;\n");
      // a cycle (reported once, at its first module)
      put('src/spec/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
      put('src/spec/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reports exactly the planted imports, by rule', async () => {
      const found = (await violations(dir)).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
      expect(found).toEqual(
        [
          'api-reaches-executors-through-install: src/api/routes.ts -> src/executors/greedy.ts',
          'bundle-pure-part-stays-pure: src/bundle/contents.ts -> src/bundle/io/verify.ts',
          'pure-code-uses-no-io-builtins: src/bundle/contents.ts -> fs',
          'executors-know-no-plan: src/executors/greedy.ts -> src/generators/leaky/leaky.ts',
          'generators-are-pure: src/generators/leaky/leaky.ts -> src/install/pipeline.ts',
          'pure-code-uses-no-io-builtins: src/generators/leaky/leaky.ts -> fs',
          'no-circular: src/spec/a.ts -> src/spec/b.ts',
          'nothing-imports-the-cli: src/runner/runner.ts -> src/cli/main.ts',
          'only-the-cli-imports-the-api: src/runner/runner.ts -> src/api/routes.ts',
          'plan-is-pure: src/plan/build.ts -> src/executors/greedy.ts',
          'light-layers-load-no-heavy-dependency: src/plan/lean.ts -> node_modules/hono/index.js',
          'light-layers-load-no-heavy-dependency: src/spec/serve-spec.ts -> node_modules/hono/index.js',
          'pure-code-uses-no-io-builtins: src/plan/build.ts -> child_process',
          'test-helpers-stay-in-tests: src/runner/runner.ts -> src/bundle/io/testing.ts',
          'console-is-a-browser-client: src/console/page.ts -> fs',
          'console-is-a-browser-client: src/console/page.ts -> src/spec/derive.ts',
          'nothing-imports-the-console: src/api/serve-console.ts -> src/console/page.ts',
        ].sort(),
      );
    }, 60_000);
  });
});
