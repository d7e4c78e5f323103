// The embedded default spec: the runbook's HA topology, shipped with the package so `airgap-k8s render` works
// with no arguments (the README's quick start), and the REST API's documented request example.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const EXAMPLE_SPEC_PATH = fileURLToPath(new URL('../../fixtures/valid-runbook-ha.yaml', import.meta.url));

export function exampleSpecText(): string {
  return readFileSync(EXAMPLE_SPEC_PATH, 'utf8');
}
