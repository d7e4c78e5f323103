// Test helpers for the environments/models/dify modules: a small valid spec with one GPU worker, overridable per test.
import yaml from 'js-yaml';
import { deriveView, type ClusterView } from '../../../spec/derive.js';
import { parseSpec } from '../../../spec/load.js';
import type { SpecIssue } from '../../../spec/issues.js';
import type { GeneratedFile } from '../../types.js';

/** The spec document; keys set to undefined are dropped (the loader refuses non-JSON values). */
export function specDoc(spec: Record<string, unknown>): object {
  return JSON.parse(JSON.stringify({
    apiVersion: 'airgap-k8s/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 't' },
    spec: {
      hosts: [
        { name: 'cp1', address: '10.0.0.1', roles: ['control-plane'] },
        { name: 'gpu1', address: '10.0.0.2', roles: ['worker'], gpu: { vendor: 'nvidia', count: 4 } },
      ],
      ...spec,
    },
  }));
}

export function testView(spec: Record<string, unknown>): ClusterView {
  const r = parseSpec(specDoc(spec));
  if (!r.ok) throw new Error(`test spec invalid: ${JSON.stringify(r.issues)}`);
  return deriveView(r.spec);
}

export function specIssues(spec: Record<string, unknown>): { errors: SpecIssue[]; warnings: SpecIssue[] } {
  const r = parseSpec(specDoc(spec));
  return { errors: r.ok ? [] : r.issues, warnings: r.warnings };
}

/** The YAML documents of a rendered file (the marker is a comment). */
export function docsOf(f: GeneratedFile | undefined): Record<string, any>[] {
  if (!f) throw new Error('file not rendered');
  return yaml.loadAll(f.content) as Record<string, any>[];
}

export function byKind(docs: Record<string, any>[], kind: string): Record<string, any>[] {
  return docs.filter((d) => d.kind === kind);
}
