// The generator registry and renderCluster: spec + facts -> every file, sorted, checked for clashes.
import { deriveView, type ClusterView } from '../spec/derive.js';
import type { ClusterSpec } from '../spec/schema.js';
import { containerdGenerator } from './containerd/containerd.js';
import { haproxyGenerator } from './haproxy/haproxy.js';
import { hostsGenerator } from './hosts/hosts.js';
import { keepalivedGenerator } from './keepalived/keepalived.js';
import { kubeadmGenerator } from './kubeadm/kubeadm.js';
import { imagesGenerator } from './manifests/images/images.js';
import { manifestsGenerator } from './manifests/index.js';
import { firewallGenerator, osGenerator } from './os/index.js';
import { outputPath, type Facts, type GeneratedFile, type Generator } from './types.js';

/** In apply order of concern: host basics, OS, runtime, load balancer, kubeadm, then cluster-level manifests. */
export const generators: Generator[] = [
  hostsGenerator,
  osGenerator,
  firewallGenerator,
  containerdGenerator,
  keepalivedGenerator,
  haproxyGenerator,
  kubeadmGenerator,
  manifestsGenerator,
  imagesGenerator,
];

export function renderView(view: ClusterView, facts: Facts, only?: readonly Generator[]): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const g of only ?? generators) files.push(...g.generate(view, facts));
  const seen = new Map<string, string>();
  for (const f of files) {
    const p = outputPath(f);
    const prev = seen.get(p);
    if (prev) throw new Error(`generators ${prev} and ${f.generator} both produce ${p}`);
    seen.set(p, f.generator);
    if (!f.content.endsWith('\n')) throw new Error(`generator ${f.generator}: ${p} does not end with a newline`);
  }
  return files.sort((a, b) => (outputPath(a) < outputPath(b) ? -1 : outputPath(a) > outputPath(b) ? 1 : 0));
}

/** Render every file for a validated spec. Pure: the same spec and facts give byte-identical files. */
export function renderCluster(spec: ClusterSpec, facts: Facts): GeneratedFile[] {
  return renderView(deriveView(spec), facts);
}

export { outputPath };
export type { Facts, GeneratedFile, Generator };
