// Golden files: every valid fixture renders byte-for-byte to golden/<fixture>/, and nothing under golden/ is stale.
// Regenerate with `npm run golden:update` and review the diff; this test never writes.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCluster, outputPath } from '../../src/generators/index.js';
import { buildPlan, formatPlan } from '../../src/plan/index.js';
import { GOLDEN, loadFixture, readTree, testInputs, validFixtureNames } from '../support/fixtures.js';

describe('golden files', () => {
  const names = validFixtureNames();

  it('every golden directory belongs to a fixture', () => {
    const dirs = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((d) => !d.startsWith('.')) : [];
    expect(dirs.filter((d) => !names.includes(d))).toEqual([]);
  });

  for (const name of names) {
    it(`${name}: rendered files and plan.txt equal golden/${name}/ byte for byte`, () => {
      const rendered = new Map(renderCluster(loadFixture(name), testInputs()).map((f) => [outputPath(f), f.content]));
      rendered.set('plan.txt', formatPlan(buildPlan(loadFixture(name), testInputs())));
      const golden = readTree(join(GOLDEN, name));
      expect([...golden.keys()].filter((k) => !rendered.has(k)), 'files under golden/ that nothing produced').toEqual([]);
      expect([...rendered.keys()].filter((k) => !golden.has(k)), 'rendered files missing from golden/ (npm run golden:update)').toEqual([]);
      for (const [path, content] of rendered) expect(content, path).toBe(golden.get(path));
    });

    it(`${name}: rendering twice gives identical output`, () => {
      const a = renderCluster(loadFixture(name), testInputs());
      const b = renderCluster(loadFixture(name), testInputs());
      expect(b).toEqual(a);
    });
  }
});
