// The one YAML writer. Deterministic: keys sorted, with apiVersion, kind, metadata first (cdk8s order); undefined
// dropped; no anchors; no line folding; documents joined by '---'.
import yaml from 'js-yaml';
import { hashMarker } from './marker.js';

const FIRST = ['apiVersion', 'kind', 'metadata', 'name'];

function compareKeys(a: string, b: string): number {
  const ia = FIRST.indexOf(a);
  const ib = FIRST.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? FIRST.length : ia) - (ib < 0 ? FIRST.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function prune<T>(v: T): T {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(prune) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = prune(x);
    return out as T;
  }
  return v;
}

/** One YAML document, no marker. */
export function toYaml(obj: unknown): string {
  return yaml.dump(prune(obj), {
    sortKeys: compareKeys,
    lineWidth: -1,
    noRefs: true,
    quotingType: '"',
    // YAML 1.1 readers (kubeadm, kubectl, Helm) take unquoted no/on/yes/y as booleans: keep compat quoting
    noCompatMode: false,
  });
}

/** A YAML file: marker comment then the documents separated by '---'. */
export function yamlFile(clusterName: string, docs: unknown[]): string {
  return hashMarker(clusterName) + docs.map(toYaml).join('---\n');
}
