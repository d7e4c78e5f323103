// Ollama serving one model: a Deployment (common.ts modelDeployment), a PVC for /root/.ollama, and a Service on 11434.
//
// Offline loading: with `modelFile`, an init container starts a loopback-only `ollama serve`, runs
// `ollama create <model> -f Modelfile` against the GGUF from the offline bundle, and stops the server before the main
// container starts. The script is a constant; the model name and paths reach it only as environment variables (no
// interpolation into shell text). The Modelfile (`FROM /bundle/<file>`) comes from a ConfigMap; the GGUF's directory
// from the bundle is a read-only hostPath PersistentVolume. Re-running `ollama create` on every start is cheap when the
// blob already exists (it is hashed, not copied) and picks up a changed GGUF.
import { posix } from 'node:path';
import type { ClusterView } from '../../../spec/derive.js';
import type { OllamaModelSpec } from '../../../spec/schema.js';
import { GPU_RESOURCE, hostDirectoryClaim, modelDeployment, modelImage, modelLabels, modelPort, modelService } from './common.js';

export const OLLAMA_HOME = '/root/.ollama';
export const BUNDLE_MOUNT = '/bundle';
const MODELFILE_MOUNT = '/etc/ollama-modelfile';

/** Runs inside the init container; every value it needs comes from the environment. */
export const OLLAMA_IMPORT_SCRIPT = [
  'set -eu',
  'ollama serve &',
  'server=$!',
  'tries=0',
  'until ollama list >/dev/null 2>&1; do',
  '  tries=$((tries + 1))',
  '  if [ "$tries" -gt 120 ]; then echo "ollama serve did not start" >&2; exit 1; fi',
  '  sleep 1',
  'done',
  'ollama create "$MODEL_NAME" -f "$MODELFILE"',
  'kill "$server"',
  'wait "$server" || true',
  '',
].join('\n');

export function ollamaDocs(view: ClusterView, m: OllamaModelSpec): object[] {
  const ns = m.environment;
  const labels = modelLabels(m);
  const image = modelImage(view, m);
  const port = modelPort(m);
  const gpu = m.gpus > 0 ? { [GPU_RESOURCE]: String(m.gpus) } : {};
  const docs: object[] = [];
  const volumes: object[] = [{ name: 'data', persistentVolumeClaim: { claimName: `${m.name}-data` } }];
  const initContainers: object[] = [];

  docs.push({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${m.name}-data`, namespace: ns, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: m.storage?.size ?? '100Gi' } },
      storageClassName: m.storage?.storageClassName,
    },
  });

  if (m.modelFile) {
    const dir = posix.dirname(m.modelFile);
    const hostDir = dir === '.' ? view.cluster.spec.offline.bundleDir : `${view.cluster.spec.offline.bundleDir}/${dir}`;
    docs.push(...hostDirectoryClaim(m, `${m.name}-bundle`, hostDir));
    docs.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${m.name}-modelfile`, namespace: ns, labels },
      data: { Modelfile: `FROM ${BUNDLE_MOUNT}/${posix.basename(m.modelFile)}\n` },
    });
    volumes.push(
      { name: 'bundle', persistentVolumeClaim: { claimName: `${m.name}-bundle`, readOnly: true } },
      { name: 'modelfile', configMap: { name: `${m.name}-modelfile` } },
    );
    initContainers.push({
      name: 'import-model',
      image,
      imagePullPolicy: 'IfNotPresent',
      command: ['/bin/sh', '-c', OLLAMA_IMPORT_SCRIPT],
      env: [
        { name: 'OLLAMA_HOST', value: `127.0.0.1:${port}` },
        { name: 'OLLAMA_MODELS', value: `${OLLAMA_HOME}/models` },
        { name: 'MODEL_NAME', value: m.model },
        { name: 'MODELFILE', value: `${MODELFILE_MOUNT}/Modelfile` },
        // The image sets NVIDIA_VISIBLE_DEVICES=all; importing a GGUF needs no GPU, so keep this container off them.
        { name: 'NVIDIA_VISIBLE_DEVICES', value: 'void' },
      ],
      resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '8Gi' } },
      volumeMounts: [
        { name: 'data', mountPath: OLLAMA_HOME },
        { name: 'bundle', mountPath: BUNDLE_MOUNT, readOnly: true },
        { name: 'modelfile', mountPath: MODELFILE_MOUNT, readOnly: true },
      ],
    });
  }

  docs.push(
    modelDeployment(m, {
      initContainers: initContainers.length > 0 ? initContainers : undefined,
      containers: [
        {
          name: 'ollama',
          image,
          imagePullPolicy: 'IfNotPresent',
          env: [
            { name: 'OLLAMA_HOST', value: `0.0.0.0:${port}` },
            { name: 'OLLAMA_KEEP_ALIVE', value: m.keepAlive },
            { name: 'OLLAMA_MODELS', value: `${OLLAMA_HOME}/models` },
          ],
          ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/api/version', port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
          livenessProbe: { httpGet: { path: '/', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
          resources: { requests: { cpu: '2', memory: '8Gi', ...gpu }, limits: { memory: '32Gi', ...gpu } },
          volumeMounts: [{ name: 'data', mountPath: OLLAMA_HOME }],
        },
      ],
      volumes,
    }),
  );
  docs.push(modelService(m));
  return docs;
}
