import { describe, expect, it } from 'vitest';
import { addonFiles } from '../addon.js';
import yaml from 'js-yaml';
import { deriveView } from '../../../spec/derive.js';
import { parseSpec } from '../../../spec/load.js';
import { loadFixture } from '../../../../test/support/fixtures.js';
import { storageAddon, STORAGE_CLASS } from './storage.js';
import { testInputs } from '../../../../test/support/fixtures.js';

const docsOf = (name: string) => {
  const view = deriveView(loadFixture(name));
  const files = addonFiles(storageAddon, view, testInputs());
  return { view, files, docs: files.flatMap((f) => yaml.loadAll(f.content) as { kind: string; metadata: { annotations?: Record<string, string> }; data?: Record<string, string> }[]) };
};

describe('local-path storage', () => {
  it('renders a default StorageClass with WaitForFirstConsumer', () => {
    const { docs } = docsOf('runbook-ha');
    const sc = docs.find((d) => d.kind === 'StorageClass') as unknown as { metadata: { name: string; annotations: Record<string, string> }; volumeBindingMode: string };
    expect(sc.metadata.name).toBe(STORAGE_CLASS);
    expect(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class']).toBe('true');
    expect(sc.volumeBindingMode).toBe('WaitForFirstConsumer');
  });

  it('puts volumes under the configured path and mirrors both images with a registry', () => {
    const { docs, view } = docsOf('private-registry');
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    expect(JSON.parse(cm.data!['config.json']!).nodePathMap[0].paths).toEqual(['/opt/local-path-provisioner']);
    expect(storageAddon.images(view).every((i) => i.startsWith('registry.local:5000/k8s/'))).toBe(true);
    expect(JSON.parse(cm.data!['helperPod.yaml']!).spec.containers[0].image).toBe('registry.local:5000/k8s/library/busybox:1.35.0');
  });

  it('renders nothing when disabled', () => {
    const r = parseSpec({
      apiVersion: 'airgap-k8s/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'x' },
      spec: { hosts: [{ name: 'a', address: '10.0.0.1', roles: ['control-plane', 'worker'] }], addons: { storage: { localPath: { enabled: false } } } },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const view = deriveView(r.spec);
    expect(addonFiles(storageAddon, view, testInputs())).toEqual([]);
    expect(storageAddon.images(view)).toEqual([]);
  });
});
