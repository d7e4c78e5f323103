// Regenerate golden/<fixture>/ from fixtures/valid-<fixture>.yaml with the TEST-ONLY secrets.
// Run by a developer (npm run golden:update); CI never runs it. Review the diff like code.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { renderCluster } from '../src/generators/index.js';
import { buildPlan, formatPlan } from '../src/plan/index.js';
import { writeRendered } from '../src/output.js';
import { GOLDEN, loadFixture, testInputs, validFixtureNames } from '../test/support/fixtures.js';

const only = process.argv.slice(2);
for (const name of validFixtureNames()) {
  if (only.length > 0 && !only.includes(name)) continue;
  const dir = join(GOLDEN, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = renderCluster(loadFixture(name), testInputs());
  writeRendered(dir, files);
  writeFileSync(join(dir, 'plan.txt'), formatPlan(buildPlan(loadFixture(name), testInputs())));
  console.log(`golden/${name}: ${files.length} files`);
}
