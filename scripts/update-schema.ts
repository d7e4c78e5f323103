// Regenerate schema/cluster.schema.json from the zod spec (npm run schema:update). A unit test fails when the
// committed file differs, so the editor schema can never drift from the validator.
import { writeFileSync } from 'node:fs';
import { clusterJsonSchemaText } from '../src/spec/json-schema.js';

writeFileSync(new URL('../schema/cluster.schema.json', import.meta.url), clusterJsonSchemaText());
console.log('wrote schema/cluster.schema.json');
