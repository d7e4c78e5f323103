/**
 * `airgap-k8s/generators`: every generator by name and the render of a whole cluster. A generator is pure:
 * `(view, inputs) -> units` of files; the same spec and inputs give byte-identical files, with no clock,
 * randomness, environment or I/O. Inputs (secrets, CA hash) come from `airgap-k8s/secrets`.
 *
 * ```ts
 * import { deriveView, parseSpec } from 'airgap-k8s/spec';
 * import { haproxyGenerator, keepalivedGenerator, renderView } from 'airgap-k8s/generators';
 * const files = renderView(deriveView(spec), inputs, [haproxyGenerator, keepalivedGenerator]);
 * ```
 *
 * (Inside the repository this is also the registry: `generators` in apply order, and renderCluster, which checks
 * that no two generators make the same file.)
 *
 * @module generators
 */
import { deriveView, type ClusterView } from '../spec/derive.js';
import type { ClusterSpec } from '../spec/schema.js';
import { containerdGenerator } from './containerd/containerd.js';
import { etcdBackupGenerator } from './etcd-backup/etcd-backup.js';
import { haproxyGenerator } from './haproxy/haproxy.js';
import { hostsGenerator } from './hosts/hosts.js';
import { keepalivedGenerator } from './keepalived/keepalived.js';
import { kubeadmGenerator } from './kubeadm/kubeadm.js';
import { imagesGenerator } from './manifests/images/images.js';
import { manifestsGenerator } from './manifests/index.js';
import { firewallGenerator, osGenerator } from './os/index.js';
import { filesOf, outputPath, type RenderInputs, type GeneratedFile, type Generator, type Unit } from './types.js';

/**
 * In apply order of concern: host basics, OS, runtime, load balancer (haproxy before the keepalived that tracks
 * it), kubeadm, the control planes' scheduled etcd snapshots, then cluster-level manifests. The planner keeps this
 * order among units of one host and phase.
 */
export const generators: Generator[] = [
  hostsGenerator,
  osGenerator,
  firewallGenerator,
  containerdGenerator,
  haproxyGenerator,
  keepalivedGenerator,
  kubeadmGenerator,
  etcdBackupGenerator,
  manifestsGenerator,
  imagesGenerator,
];

/**
 * Every unit of every generator (or of `only`), in registry order, each unit's files sorted by path. Pure: the same
 * spec and inputs give the same units. Checked: no two generators make the same file, every file ends in a newline.
 */
export function renderUnits(view: ClusterView, inputs: RenderInputs, only?: readonly Generator[]): Unit[] {
  const units = (only ?? generators).flatMap((g) => g.units(view, inputs));
  const files = filesOf(units);
  const seen = new Map<string, string>();
  for (const f of files) {
    const p = outputPath(f);
    const prev = seen.get(p);
    if (prev) throw new Error(`generators ${prev} and ${f.generator} both produce ${p}`);
    seen.set(p, f.generator);
    if (!f.content.endsWith('\n')) throw new Error(`generator ${f.generator}: ${p} does not end with a newline`);
  }
  return units.map((u) => ({ ...u, files: sortByOutputPath<GeneratedFile>(u.files) }) as Unit);
}

/** A stable sort by output path, each path made once (not twice per comparison: 18,000 files at 2000 hosts). */
function sortByOutputPath<F extends GeneratedFile>(files: readonly F[]): F[] {
  const keyed = files.map((f) => ({ f, p: outputPath(f) }));
  keyed.sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  return keyed.map((k) => k.f);
}

/** The units' files, sorted by output path (what `render` writes). */
export function sortedFiles(units: readonly Unit[]): GeneratedFile[] {
  return sortByOutputPath(filesOf(units));
}

/** Every file for a view, sorted by output path. */
export function renderView(view: ClusterView, inputs: RenderInputs, only?: readonly Generator[]): GeneratedFile[] {
  return sortedFiles(renderUnits(view, inputs, only));
}

/** Render every file for a validated spec. Pure: the same spec and inputs give byte-identical files. */
export function renderCluster(spec: ClusterSpec, inputs: RenderInputs): GeneratedFile[] {
  return renderView(deriveView(spec), inputs);
}

export { outputPath, filesOf };
export type { RenderInputs, GeneratedFile, Generator, Unit };
export type { HostFile, ClusterFile, HostUnit, ClusterUnit, UnitCheck, JobRef, UpstreamTexts } from './types.js';
export { hostsGenerator, osGenerator, firewallGenerator, containerdGenerator, haproxyGenerator, keepalivedGenerator, kubeadmGenerator, etcdBackupGenerator, manifestsGenerator, imagesGenerator };
export type { HelmRelease } from './manifests/helm.js';
export { OVERLAYS, type OverlayName, type Overlay, type OverlaySetting } from './overlay.js';
export { kubeadmImages, pauseImage, resolveImage } from '../images.js';
