// What the published package holds: the build compiles the library only (no tests, no test helpers).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/fixtures.js';

it('the published build holds no test code: no *.test.ts and no testing.ts helper is compiled into dist/', () => {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const files = execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--listFilesOnly'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.includes('/src/'));
  expect(files.length).toBeGreaterThan(50);
  expect(files.filter((f) => /\.test\.ts$|\/testing\.ts$/.test(f))).toEqual([]);
}, 60_000);
