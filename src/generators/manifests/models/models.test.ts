import { describe, expect, it } from 'vitest';
import { addonFiles } from '../addon.js';
import { testInputs } from '../../../../test/support/fixtures.js';
import { modelsAddon } from './models.js';
import { OLLAMA_IMPORT_SCRIPT } from './ollama.js';
import { GPU_NODE_LABEL, GPU_TOLERATION, modelServiceUrl } from './common.js';
import { byKind, docsOf, specIssues, testView } from './testing.js';

const env = { environments: [{ name: 'prod', quota: { gpus: 4 } }] };
const ollama = { name: 'qwen', engine: 'ollama', environment: 'prod', model: 'qwen2.5:7b', modelFile: 'models/gguf/qwen2.5-7b.gguf', gpus: 1, service: { nodePort: 31434 } };
const vllm = { name: 'llama', engine: 'vllm', environment: 'prod', modelPath: '/data/models/Llama', servedModelName: 'llama-3.1-8b', gpus: 2, maxModelLen: 16384, apiKeyRef: 'vllm-key' };

function render(spec: Record<string, unknown>) {
  const view = testView(spec);
  const files = addonFiles(modelsAddon, view, testInputs());
  return { view, files, file: (p: string) => files.find((f) => f.path === p) };
}

describe('ollama', () => {
  const { file, view } = render({ ...env, offline: { bundleDir: '/opt/bundle' }, models: [ollama] });
  const docs = docsOf(file('cluster/60-model-qwen.yaml'));
  const deploy = byKind(docs, 'Deployment')[0]!;
  const pod = deploy.spec.template.spec;
  const main = pod.containers[0];

  it('is one Recreate replica on a GPU host, with GPU requests equal to limits and no runtimeClassName', () => {
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.strategy).toEqual({ type: 'Recreate' });
    expect(pod.nodeSelector).toEqual({ [GPU_NODE_LABEL]: 'true' });
    expect(pod.tolerations).toEqual([GPU_TOLERATION]);
    expect(pod.runtimeClassName).toBeUndefined();
    expect(main.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(main.resources.requests['nvidia.com/gpu']).toBe('1');
    expect(pod.enableServiceLinks).toBe(false);
  });

  it('listens on all interfaces, keeps models per spec and probes the API', () => {
    const envVars = Object.fromEntries(main.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(envVars).toEqual({ OLLAMA_HOST: '0.0.0.0:11434', OLLAMA_KEEP_ALIVE: '-1', OLLAMA_MODELS: '/root/.ollama/models' });
    expect(main.readinessProbe.httpGet).toEqual({ path: '/api/version', port: 'http' });
    expect(main.livenessProbe.httpGet).toEqual({ path: '/', port: 'http' });
    expect(main.volumeMounts).toEqual([{ name: 'data', mountPath: '/root/.ollama' }]);
    const pvc = byKind(docs, 'PersistentVolumeClaim').find((d) => d.metadata.name === 'qwen-data')!;
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('imports the GGUF from the bundle with a constant script: values travel as env, never as shell text', () => {
    const init = pod.initContainers[0];
    expect(init.command).toEqual(['/bin/sh', '-c', OLLAMA_IMPORT_SCRIPT]);
    expect(OLLAMA_IMPORT_SCRIPT).not.toContain('qwen');
    expect(OLLAMA_IMPORT_SCRIPT).toContain('ollama create "$MODEL_NAME" -f "$MODELFILE"');
    const envVars = Object.fromEntries(init.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(envVars.MODEL_NAME).toBe('qwen2.5:7b');
    expect(envVars.OLLAMA_HOST).toBe('127.0.0.1:11434');
    expect(init.resources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(byKind(docs, 'ConfigMap')[0]!.data).toEqual({ Modelfile: 'FROM /bundle/qwen2.5-7b.gguf\n' });
    expect(init.volumeMounts).toContainEqual({ name: 'bundle', mountPath: '/bundle', readOnly: true });
  });

  it('hands only the GGUF directory to the pod, read-only, through a pre-bound hostPath PersistentVolume', () => {
    const pv = byKind(docs, 'PersistentVolume')[0]!;
    expect(pv.spec.hostPath).toEqual({ path: '/opt/bundle/models/gguf', type: 'Directory' });
    expect(pv.spec.accessModes).toEqual(['ReadOnlyMany']);
    expect(pv.spec.claimRef).toEqual({ namespace: 'prod', name: 'qwen-bundle' });
    const claim = byKind(docs, 'PersistentVolumeClaim').find((d) => d.metadata.name === 'qwen-bundle')!;
    expect(claim.spec.volumeName).toBe(pv.metadata.name);
    expect(claim.spec.storageClassName).toBe('');
    expect(pod.volumes).toContainEqual({ name: 'bundle', persistentVolumeClaim: { claimName: 'qwen-bundle', readOnly: true } });
    expect(JSON.stringify(pod)).not.toContain('hostPath');
  });

  it('exposes the NodePort when asked, else a ClusterIP Service', () => {
    const svc = byKind(docs, 'Service')[0]!;
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 11434, targetPort: 'http', nodePort: 31434 }]);
    const internal = render({ ...env, models: [{ ...ollama, service: {} }] });
    const svc2 = byKind(docsOf(internal.file('cluster/60-model-qwen.yaml')), 'Service')[0]!;
    expect(svc2.spec.type).toBe('ClusterIP');
    expect(svc2.spec.ports[0].nodePort).toBeUndefined();
    expect(modelServiceUrl(view, view.cluster.spec.models[0]!)).toBe('http://qwen.prod.svc.cluster.local:11434');
  });

  it('a CPU-only model neither asks for GPUs nor tolerates the GPU taint; without modelFile there is no import step', () => {
    const r = render({ ...env, models: [{ ...ollama, gpus: 0, modelFile: undefined }] });
    const docs2 = docsOf(r.file('cluster/60-model-qwen.yaml'));
    const p = byKind(docs2, 'Deployment')[0]!.spec.template.spec;
    expect(p.tolerations).toBeUndefined();
    expect(p.nodeSelector).toBeUndefined();
    expect(p.initContainers).toBeUndefined();
    expect(JSON.stringify(p)).not.toContain('nvidia.com/gpu');
    expect(byKind(docs2, 'PersistentVolume')).toEqual([]);
  });
});

describe('vllm', () => {
  const { files, file, view } = render({ ...env, models: [vllm] });
  const docs = docsOf(file('cluster/60-model-llama.yaml'));
  const pod = byKind(docs, 'Deployment')[0]!.spec.template.spec;
  const c = pod.containers[0];

  it('serves the local path offline with tensor parallelism over its GPUs', () => {
    expect(c.command).toEqual(['vllm', 'serve']);
    expect(c.args).toEqual([
      '/data/models/Llama', '--served-model-name', 'llama-3.1-8b', '--host', '0.0.0.0', '--port', '8000',
      '--tensor-parallel-size', '2', '--gpu-memory-utilization', '0.9', '--max-model-len', '16384',
    ]);
    const envVars = Object.fromEntries(c.env.filter((e: { value?: string }) => e.value).map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(envVars.HF_HUB_OFFLINE).toBe('1');
    expect(envVars.TRANSFORMERS_OFFLINE).toBe('1');
    expect(c.resources.limits['nvidia.com/gpu']).toBe('2');
    expect(pod.tolerations).toEqual([GPU_TOLERATION]);
    expect(pod.enableServiceLinks).toBe(false);
  });

  it('omits --max-model-len when unset', () => {
    const r = render({ ...env, models: [{ ...vllm, maxModelLen: undefined, apiKeyRef: undefined }] });
    const args = byKind(docsOf(r.file('cluster/60-model-llama.yaml')), 'Deployment')[0]!.spec.template.spec.containers[0].args;
    expect(args).not.toContain('--max-model-len');
  });

  it('mounts the weights read-only, /dev/shm in memory, and probes /health with a long startup budget', () => {
    expect(c.volumeMounts).toEqual([{ name: 'weights', mountPath: '/data/models/Llama', readOnly: true }, { name: 'dshm', mountPath: '/dev/shm' }]);
    expect(pod.volumes).toContainEqual({ name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } });
    expect(byKind(docs, 'PersistentVolume')[0]!.spec.hostPath.path).toBe('/data/models/Llama');
    expect(c.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(1200);
    expect(c.readinessProbe.httpGet.path).toBe('/health');
    expect(modelServiceUrl(view, view.cluster.spec.models[0]!)).toBe('http://llama.prod.svc.cluster.local:8000/v1');
  });

  it('takes the API key from a Secret in a 0600 secret file; the key is nowhere else', () => {
    expect(c.env).toContainEqual({ name: 'VLLM_API_KEY', valueFrom: { secretKeyRef: { name: 'llama-api-key', key: 'api-key' } } });
    const secretFile = file('cluster/60-model-llama-secret.yaml')!;
    expect(secretFile.secret).toBe(true);
    expect(secretFile.mode).toBe(0o600);
    expect(docsOf(secretFile)[0]!.stringData).toEqual({ 'api-key': 'test-vllm-api-key' });
    for (const f of files.filter((x) => !x.secret)) expect(f.content).not.toContain('test-vllm-api-key');
    // the Secret's file sorts before the Deployment's, so it is applied first
    expect('cluster/60-model-llama-secret.yaml' < 'cluster/60-model-llama.yaml').toBe(true);
  });
});

describe('model images', () => {
  it('resolve to the private registry when one is set, and a model may pin its own', () => {
    const v = testView({ ...env, offline: { registry: 'reg.local:5000/k8s' }, models: [ollama, { ...vllm, apiKeyRef: undefined, image: 'vllm/vllm-openai:v0.10.2' }] });
    expect(modelsAddon.images(v)).toEqual(['reg.local:5000/k8s/ollama/ollama:0.12.6', 'reg.local:5000/k8s/vllm/vllm-openai:v0.10.2']);
    const rendered = addonFiles(modelsAddon, v, testInputs()).map((f) => f.content).join('\n');
    expect(rendered).not.toMatch(/docker\.io/);
  });
});

describe('model validation', () => {
  it('warns when GPUs are asked for but nothing advertises them (GPU Operator off)', () => {
    const { warnings } = specIssues({ ...env, addons: { gpuOperator: { enabled: false } }, models: [ollama] });
    expect(warnings.map((w) => w.code)).toContain('no_device_plugin');
    expect(specIssues({ ...env, models: [ollama] }).warnings.map((w) => w.code)).not.toContain('no_device_plugin');
  });

  it('warns when an Ollama model has nothing to load it offline', () => {
    const { warnings } = specIssues({ ...env, models: [{ ...ollama, modelFile: undefined }] });
    expect(warnings.map((w) => w.code)).toContain('no_offline_model');
  });
});
