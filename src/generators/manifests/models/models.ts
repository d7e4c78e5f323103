// The models addon: cluster/60-model-<name>.yaml per model (PersistentVolumes/claims, ConfigMap, Deployment,
// Service), and cluster/60-model-<name>-secret.yaml (0600) for a vLLM API key. It sorts before the model's own file,
// so the Secret exists when the Deployment is applied.
import type { ClusterView } from '../../../spec/derive.js';
import type { Facts, GeneratedFile } from '../../types.js';
import { clusterFile } from '../../types.js';
import { yamlFile } from '../../render/yaml.js';
import type { AddonModule } from '../addon.js';
import { modelFilePath, modelImage } from './common.js';
import { ollamaDocs } from './ollama.js';
import { vllmApiKeySecret, vllmDocs } from './vllm.js';

const NAME = 'models';

export const modelsAddon: AddonModule = {
  name: NAME,
  files(view: ClusterView, facts: Facts): GeneratedFile[] {
    const files: GeneratedFile[] = [];
    for (const m of view.cluster.spec.models) {
      if (m.engine === 'ollama') {
        files.push(clusterFile(NAME, modelFilePath(m), yamlFile(view.name, ollamaDocs(view, m))));
        continue;
      }
      if (m.apiKeyRef) {
        const key = facts.secrets.passwords[m.apiKeyRef];
        if (key === undefined) throw new Error(`models: secret "${m.apiKeyRef}" for model ${m.name} is missing from the secrets`);
        files.push(clusterFile(NAME, modelFilePath(m, '-secret'), yamlFile(view.name, [vllmApiKeySecret(m, key)]), { secret: true }));
      }
      files.push(clusterFile(NAME, modelFilePath(m), yamlFile(view.name, vllmDocs(view, m))));
    }
    return files;
  },
  images(view: ClusterView): string[] {
    return [...new Set(view.cluster.spec.models.map((m) => modelImage(view, m)))].sort();
  },
  helmReleases(): [] {
    return [];
  },
};
