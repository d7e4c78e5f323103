// schema/cluster.schema.json is generated from the zod spec; it must be current (npm run schema:update).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { clusterJsonSchemaText } from '../../src/spec/json-schema.js';
import { ROOT } from '../support/fixtures.js';

it('schema/cluster.schema.json matches the zod spec', () => {
  expect(readFileSync(join(ROOT, 'schema', 'cluster.schema.json'), 'utf8')).toBe(clusterJsonSchemaText());
});

it('the JSON Schema\'s host address pattern says what the validator says, for every first octet and the edge cases', async () => {
  const { HostIPv4 } = await import('../../src/spec/schema.js');
  const schema = JSON.parse(clusterJsonSchemaText()) as { properties: { spec: { properties: { hosts: { items: { properties: { address: { pattern: string } } } } } } } };
  const re = new RegExp(schema.properties.spec.properties.hosts.items.properties.address.pattern);
  const addresses: string[] = [];
  for (let a = 0; a < 256; a++) for (const rest of ['0.0.1', '254.0.1', '253.9.9', '255.255.255']) addresses.push(`${a}.${rest}`);
  for (const ip of addresses) expect(re.test(ip), ip).toBe(HostIPv4.safeParse(ip).success);
  expect(addresses.filter((ip) => re.test(ip)).length).toBeGreaterThan(800);
});
