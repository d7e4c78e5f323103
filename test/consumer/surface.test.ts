// The public API as the INSTALLED package declares it (every subpath's exports and their declarations) equals
// api/surface.txt: an accidental breaking change fails here. After an intended change: `npm run api:update`, and
// review `git diff api/` like code. CI never rewrites it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { apiSurface } from '../../scripts/api/surface.js';

const c = inject('consumer');

it('the installed package\'s API surface is api/surface.txt', () => {
  const committed = readFileSync(join(c.root, 'api/surface.txt'), 'utf8').replace(/^#.*\n/, '');
  const installed = apiSurface(join(c.light, 'node_modules/airgap-k8s'));
  expect(installed.split('\n').length).toBeGreaterThan(500);
  expect(installed, 'the public API changed: npm run api:update, then review git diff api/').toBe(committed);
}, 120_000);
