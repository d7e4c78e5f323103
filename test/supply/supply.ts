// Where the supply tier finds what scripts/supply/build.sh made, and the small helpers its tests share.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpec } from '../../src/spec/load.js';
import { deriveView, type ClusterView } from '../../src/spec/derive.js';

export const CACHE = process.env.AIRGAP_K8S_CACHE ?? '/var/cache/airgap-k8s';
export const REHEARSAL_SPEC = join(import.meta.dirname, '../../fixtures/valid-rehearsal.yaml');

/** The bundle build.sh made for the rehearsal spec (its `bundles/rehearsal` link), or a clear error. */
/** The rehearsal spec's bundle at a Kubernetes version (scripts/supply/build.sh [--kubernetes-version V] made it). */
export function supplyBundle(version = 'v1.34.3'): string {
  const link = (version === 'v1.34.3' ? process.env.AIRGAP_K8S_SUPPLY_BUNDLE : undefined) ?? join(CACHE, `supply/bundles/rehearsal-${version}`);
  if (!existsSync(join(link, 'bundle.yaml'))) {
    throw new Error(`no supply bundle at ${link}: run \`bash scripts/supply/build.sh${version === 'v1.34.3' ? '' : ` --kubernetes-version ${version}`}\` first (npm run test:supply does)`);
  }
  return realpathSync(link);
}

/** The toolchain's bin directory (warm: seconds). */
export function toolchainBin(): string {
  const out = execFileSync('bash', [join(import.meta.dirname, '../../scripts/toolchain/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.trim().split('\n').pop()!;
}

export function viewOf(text: string): ClusterView {
  const r = parseSpec(text);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return deriveView(r.spec);
}

export function rehearsalView(): ClusterView {
  return viewOf(readFileSync(REHEARSAL_SPEC, 'utf8'));
}
