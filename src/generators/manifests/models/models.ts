// The models addon: cluster/60-model-<name>.yaml per model (PersistentVolumes/claims, ConfigMap, Deployment,
// Service), and cluster/60-model-<name>-secret.yaml (0600) for a vLLM API key. It sorts before the model's own file,
// so the Secret exists when the Deployment is applied.
import type { ClusterView } from '../../../spec/derive.js';
import type { RenderInputs, GeneratedFile } from '../../types.js';
import { clusterFile, type ClusterUnit } from '../../types.js';
import { yamlFile } from '../../render/yaml.js';
import { applyUnit, type AddonModule } from '../addon.js';
import { modelFilePath, modelImage } from './common.js';
import { ollamaDocs } from './ollama.js';
import { vllmApiKeySecret, vllmDocs } from './vllm.js';

const NAME = 'models';

export const modelsAddon: AddonModule = {
  name: NAME,
  units(view: ClusterView, inputs: RenderInputs): ClusterUnit[] {
    const units: ClusterUnit[] = [];
    // by file name, so a plan does not change when the spec lists the same models in another order
    for (const m of [...view.cluster.spec.models].sort((a, b) => (modelFilePath(a) < modelFilePath(b) ? -1 : 1))) {
      const unit = `model-${m.name}`;
      const verify = answers(view, m);
      if (m.engine === 'ollama') {
        units.push({ ...applyUnit(unit, 'models', clusterFile(NAME, modelFilePath(m), yamlFile(view.name, ollamaDocs(view, m)))), ...verify });
        continue;
      }
      const after: string[] = [];
      if (m.apiKeyRef) {
        const key = inputs.secrets.passwords[m.apiKeyRef];
        if (key === undefined) throw new Error(`models: secret "${m.apiKeyRef}" for model ${m.name} is missing from the secrets`);
        // the API key Secret the server's pods read exists before them
        units.push(applyUnit(`${unit}-secret`, 'models', clusterFile(NAME, modelFilePath(m, '-secret'), yamlFile(view.name, [vllmApiKeySecret(m, key)]), { secret: true })));
        after.push(`${unit}-secret`);
      }
      units.push({ ...applyUnit(unit, 'models', clusterFile(NAME, modelFilePath(m), yamlFile(view.name, vllmDocs(view, m))), { after }), ...verify });
    }
    return units;
  },
  images(view: ClusterView): string[] {
    return [...new Set(view.cluster.spec.models.map((m) => modelImage(view, m)))].sort();
  },
  helmReleases(): [] {
    return [];
  },
};

/** A model with a NodePort is checked where developers reach it: the first control plane's address and port. */
function answers(view: ClusterView, m: ClusterView['cluster']['spec']['models'][number]): Pick<ClusterUnit, 'verify'> {
  if (m.service.nodePort === undefined) return {};
  const url = `http://${view.firstControlPlane.address}:${m.service.nodePort}${m.engine === 'ollama' ? '/api/version' : '/health'}`;
  return { verify: [{ kind: 'http', name: `model/${m.name}`, url, description: `model ${m.name} answers on ${url.replace(/^http:\/\//, '')}` }] };
}
