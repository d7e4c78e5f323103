// schema/cluster.schema.json is generated from the zod spec; it must be current (npm run schema:update).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clusterJsonSchemaText } from '../../src/spec/json-schema.js';
import { ROOT } from '../support/fixtures.js';

it('schema/cluster.schema.json matches the zod spec', () => {
  expect(readFileSync(join(ROOT, 'schema', 'cluster.schema.json'), 'utf8')).toBe(clusterJsonSchemaText());
});
