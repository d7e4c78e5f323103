// vLLM's OpenAI-compatible server for one model directory from the hosts, fully offline.
//
// `command: [vllm, serve]` is spelled out although recent vllm/vllm-openai images use it as their ENTRYPOINT (older
// ones ran `python3 -m vllm.entrypoints.openai.api_server`): the args then mean the same with any image a user pins.
// The API key, when set, reaches vLLM as VLLM_API_KEY from a Secret (vLLM reads it when --api-key is absent), so it
// never appears in the Deployment or a process list. /health stays unauthenticated (the key guards /v1 only), which the
// probes rely on. Loading weights takes minutes: a startupProbe allows 30 minutes before liveness takes over.
import type { ClusterView } from '../../../spec/derive.js';
import type { VllmModelSpec } from '../../../spec/schema.js';
import { GPU_RESOURCE, hostDirectoryClaim, modelDeployment, modelImage, modelLabels, modelPort, modelService } from './common.js';

export const VLLM_API_KEY_SECRET_KEY = 'api-key';

export function vllmApiKeySecretName(m: VllmModelSpec): string {
  return `${m.name}-api-key`;
}

export function vllmArgs(m: VllmModelSpec): string[] {
  const args = [
    m.modelPath,
    '--served-model-name', m.servedModelName,
    '--host', '0.0.0.0',
    '--port', String(modelPort(m)),
    '--tensor-parallel-size', String(m.gpus),
    '--gpu-memory-utilization', String(m.gpuMemoryUtilization),
  ];
  if (m.maxModelLen !== undefined) args.push('--max-model-len', String(m.maxModelLen));
  return args;
}

/** The Secret holding the API key; only rendered when apiKeyRef is set (goes to a 0600 secret file). */
export function vllmApiKeySecret(m: VllmModelSpec, apiKey: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: vllmApiKeySecretName(m), namespace: m.environment, labels: modelLabels(m) },
    type: 'Opaque',
    stringData: { [VLLM_API_KEY_SECRET_KEY]: apiKey },
  };
}

export function vllmDocs(view: ClusterView, m: VllmModelSpec): object[] {
  const gpu = { [GPU_RESOURCE]: String(m.gpus) };
  const env: object[] = [
    { name: 'HF_HUB_OFFLINE', value: '1' },
    { name: 'TRANSFORMERS_OFFLINE', value: '1' },
    { name: 'VLLM_NO_USAGE_STATS', value: '1' },
    { name: 'DO_NOT_TRACK', value: '1' },
  ];
  if (m.apiKeyRef) {
    env.push({ name: 'VLLM_API_KEY', valueFrom: { secretKeyRef: { name: vllmApiKeySecretName(m), key: VLLM_API_KEY_SECRET_KEY } } });
  }
  const health = { httpGet: { path: '/health', port: 'http' }, timeoutSeconds: 5 };
  return [
    ...hostDirectoryClaim(m, `${m.name}-weights`, m.modelPath),
    modelDeployment(m, {
      containers: [
        {
          name: 'vllm',
          image: modelImage(view, m),
          imagePullPolicy: 'IfNotPresent',
          command: ['vllm', 'serve'],
          args: vllmArgs(m),
          env,
          ports: [{ name: 'http', containerPort: modelPort(m), protocol: 'TCP' }],
          startupProbe: { ...health, periodSeconds: 10, failureThreshold: 180 },
          readinessProbe: { ...health, periodSeconds: 10, failureThreshold: 3 },
          livenessProbe: { ...health, periodSeconds: 20, failureThreshold: 3 },
          resources: { requests: { cpu: '4', memory: '16Gi', ...gpu }, limits: { memory: '64Gi', ...gpu } },
          volumeMounts: [
            { name: 'weights', mountPath: m.modelPath, readOnly: true },
            { name: 'dshm', mountPath: '/dev/shm' },
          ],
        },
      ],
      volumes: [
        { name: 'weights', persistentVolumeClaim: { claimName: `${m.name}-weights`, readOnly: true } },
        // Tensor parallelism exchanges tensors through shared memory; the container default is 64Mi.
        { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } },
      ],
    }),
    modelService(m),
  ];
}
