// Facts are gathered before anything is generated (kind's lesson): secrets from the secrets file, and upstream
// texts the generators transform (Calico's calico.yaml) from a local copy of the offline bundle. Generators stay
// pure; this module does the reading.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterView } from './spec/derive.js';
import type { Facts, UpstreamTexts } from './generators/types.js';
import type { Secrets } from './secrets/types.js';
import { calicoUpstreamManifestPath } from './generators/manifests/calico/calico.js';
import { factsFromSecrets } from './secrets/secrets.js';

/** What the spec needs from the bundle to render completely, as bundle-relative paths. */
export function requiredUpstreamFiles(view: ClusterView): { key: keyof UpstreamTexts; path: string }[] {
  const calico = view.cluster.spec.addons.cni.calico;
  return calico.mode === 'manifest' ? [{ key: 'calicoManifest', path: calicoUpstreamManifestPath(view) }] : [];
}

/** Read the upstream texts from a local bundle directory; lists what is missing instead of failing on the first. */
export function readUpstream(view: ClusterView, bundleDir: string): { upstream: UpstreamTexts; missing: string[] } {
  const upstream: UpstreamTexts = {};
  const missing: string[] = [];
  for (const { key, path } of requiredUpstreamFiles(view)) {
    const file = join(bundleDir, path);
    if (existsSync(file)) upstream[key] = readFileSync(file, 'utf8');
    else missing.push(file);
  }
  return { upstream, missing };
}

export function gatherFacts(view: ClusterView, secrets: Secrets, bundleDir?: string): { facts: Facts; missing: string[] } {
  const facts = factsFromSecrets(secrets);
  if (!bundleDir) return { facts, missing: requiredUpstreamFiles(view).map((r) => r.path) };
  const { upstream, missing } = readUpstream(view, bundleDir);
  return { facts: { ...facts, upstream }, missing };
}
