// What the published package holds: the build compiles the library only (no tests, no test helpers).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONAL_DEPENDENCIES } from '../../src/optional.js';
import { ROOT } from '../support/fixtures.js';

it('the published build holds no test code: no *.test.ts and no testing.ts helper is compiled into dist/', () => {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const files = execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--listFilesOnly'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.includes('/src/'));
  expect(files.length).toBeGreaterThan(50);
  expect(files.filter((f) => /\.test\.ts$|\/testing\.ts$/.test(f))).toEqual([]);
}, 60_000);

describe('package.json: optional dependencies and subpath exports', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
    exports: Record<string, string | { types: string; default: string }>;
  };

  it('the optional dependencies src/optional.ts names are optional peers with the same ranges, installed here for development, and no dependency', () => {
    for (const [name, range] of Object.entries(OPTIONAL_DEPENDENCIES)) {
      expect(pkg.peerDependencies[name], name).toBe(range);
      expect(pkg.peerDependenciesMeta[name]?.optional, name).toBe(true);
      expect(pkg.devDependencies[name], name).toBe(range);
      expect(pkg.dependencies[name], name).toBeUndefined();
    }
    // every peer is optional: a plain install adds none of them
    expect(Object.keys(pkg.peerDependencies).filter((n) => pkg.peerDependenciesMeta[n]?.optional !== true)).toEqual([]);
  });

  it('every subpath export points at a module the build compiles, with its declarations beside it', () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const built = new Set(
      execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--listFilesOnly'], { encoding: 'utf8' })
        .split('\n')
        .filter((f) => f.includes('/src/'))
        .map((f) => f.slice(f.indexOf('/src/') + 1)),
    );
    const targets = Object.entries(pkg.exports).filter((e): e is [string, { types: string; default: string }] => typeof e[1] !== 'string');
    expect(targets.length).toBeGreaterThan(5);
    for (const [sub, t] of targets) {
      const src = t.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(built.has(src), `${sub} -> ${src}`).toBe(true);
      expect(t.types, sub).toBe(t.default.replace(/\.js$/, '.d.ts'));
    }
  }, 60_000);
});
