// What an install reads besides the spec and its secrets: upstream texts inside the offline bundle that pure
// generators transform (Calico's calico.yaml in manifest mode). Read here, once, for every command and route.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterView } from '../spec/derive.js';
import type { UpstreamTexts } from '../generators/types.js';
import { calicoUpstreamManifestPath } from '../generators/manifests/calico/calico.js';

/**
 * A text the render reads from the offline bundle (Calico's manifest): which render input it fills and its bundle path.
 */
export interface UpstreamInput {
  key: keyof UpstreamTexts;
  /** bundle-relative path */
  path: string;
}

/** What the spec needs from the bundle to render completely. */
export function upstreamInputs(view: ClusterView): UpstreamInput[] {
  const calico = view.cluster.spec.addons.cni.calico;
  return calico.mode === 'manifest' ? [{ key: 'calicoManifest', path: calicoUpstreamManifestPath(view) }] : [];
}

/** What an install needs from this machine and does not find: the bundle directory itself, or bundle files the
 * render transforms (existence only: the bundle's verification checks the rest). */
export function missingInputs(view: ClusterView, bundleDir: string): string[] {
  if (!existsSync(bundleDir)) return [bundleDir];
  return upstreamInputs(view).filter((u) => !existsSync(join(bundleDir, u.path))).map((u) => u.path);
}

/** The upstream texts found in a local bundle directory (none without one), and the bundle paths that are not there. */
export function readUpstream(view: ClusterView, bundleDir: string | undefined): { upstream: UpstreamTexts; missing: string[] } {
  const upstream: UpstreamTexts = {};
  const missing: string[] = [];
  for (const { key, path } of upstreamInputs(view)) {
    const file = bundleDir === undefined ? undefined : join(bundleDir, path);
    if (file && existsSync(file)) upstream[key] = readFileSync(file, 'utf8');
    else missing.push(path);
  }
  return { upstream, missing };
}
