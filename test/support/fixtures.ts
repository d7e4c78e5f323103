// Fixture loading for tests and the golden updater: every valid-*.yaml renders with the TEST-ONLY secrets.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { ClusterView } from '../../src/spec/derive.js';
import { upstreamInputs } from '../../src/install/inputs.js';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/spec/load.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import { inputsFromSecrets, parseSecrets } from '../../src/secrets/secrets.js';
import type { RenderInputs } from '../../src/generators/types.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'fixtures');
export const GOLDEN = join(ROOT, 'golden');

export function validFixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => /^valid-.*\.yaml$/.test(f))
    .map((f) => f.replace(/^valid-/, '').replace(/\.yaml$/, ''))
    .sort();
}

export function invalidFixtureFiles(): string[] {
  return readdirSync(FIXTURES).filter((f) => /^invalid-.*\.yaml$/.test(f)).sort();
}

export function loadFixture(name: string): ClusterSpec {
  const r = parseSpec(readFileSync(join(FIXTURES, `valid-${name}.yaml`), 'utf8'));
  if (!r.ok) throw new Error(`fixture ${name} is invalid:\n${r.issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
  return r.spec;
}

let inputs: RenderInputs | undefined;
export function testInputs(): RenderInputs {
  if (!inputs) {
    const r = parseSecrets(readFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), 'utf8'));
    if (!r.ok) throw new Error(`test secrets invalid: ${JSON.stringify(r.issues)}`);
    // The Calico excerpt stands in for the bundle's calico.yaml, so goldens show the manifest-mode transform.
    inputs = { ...inputsFromSecrets(r.secrets), upstream: { calicoManifest: readFileSync(join(FIXTURES, 'upstream', 'calico-excerpt.yaml'), 'utf8') } };
  }
  return inputs;
}

/**
 * A bundle directory holding only what the render reads (the Calico excerpt as calico.yaml): an install prepared
 * from it may start, and then fails its bundle verification. TEST-ONLY.
 */
export function renderInputsOnlyBundle(view: ClusterView, dir = mkdtempSync(join(tmpdir(), 'inputs-only-bundle-'))): string {
  for (const u of upstreamInputs(view)) {
    mkdirSync(dirname(join(dir, u.path)), { recursive: true });
    copyFileSync(join(FIXTURES, 'upstream', 'calico-excerpt.yaml'), join(dir, u.path));
  }
  return dir;
}

/** Every file below dir as relative path -> content. */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}
