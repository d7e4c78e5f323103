// Table test over fixtures/invalid-*.yaml: each is refused with exactly the issues (`path: message`, in order) in
// fixtures/invalid-<name>.expected.txt. Every issue is reported in one go, never just the first.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/spec/load.js';
import { formatIssues } from '../../src/spec/issues.js';
import { FIXTURES, invalidFixtureFiles } from '../support/fixtures.js';

const expectedFile = (fixture: string) => join(FIXTURES, fixture.replace(/\.yaml$/, '.expected.txt'));

describe('invalid fixtures', () => {
  const files = invalidFixtureFiles();

  it('exist, each with its expected issues, and no expected file without a fixture', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(files.filter((f) => !existsSync(expectedFile(f)))).toEqual([]);
    const orphans = readdirSync(FIXTURES)
      .filter((f) => /^invalid-.*\.expected\.txt$/.test(f))
      .filter((f) => !files.includes(f.replace(/\.expected\.txt$/, '.yaml')));
    expect(orphans).toEqual([]);
  });

  it.each(files)('%s: starts with a comment saying what is wrong', (file) => {
    expect(readFileSync(join(FIXTURES, file), 'utf8')).toMatch(/^# \S/);
  });

  it.each(files)('%s: is refused with exactly the expected issues', (file) => {
    const r = parseSpec(readFileSync(join(FIXTURES, file), 'utf8'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const expected = readFileSync(expectedFile(file), 'utf8').replace(/\n+$/, '');
    expect(formatIssues(r.issues)).toBe(expected);
    // every issue has a machine-readable code as well as its message
    for (const i of r.issues) expect(i.code, `${i.path}: ${i.message}`).toMatch(/^[a-z_]+$/);
  });

  it.each(files)('%s: is refused the same way when written as JSON', (file) => {
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    const fromYaml = parseSpec(text);
    expect(fromYaml.ok).toBe(false);
    if (fromYaml.ok) return;
    // loader-level refusals (aliases, several documents) have no JSON equivalent
    if (fromYaml.issues.some((i) => ['alias', 'document_count'].includes(i.code))) return;
    const fromJson = parseSpec(JSON.stringify(yaml.load(text, { schema: yaml.CORE_SCHEMA })));
    expect(fromJson).toEqual(fromYaml);
  });
});
