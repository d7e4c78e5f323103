// Dify on the community chart (BorisPolonsky/dify-helm), installed from the chart .tgz in the offline bundle into the
// namespace of spec.apps.dify.environment, exposed on a NodePort, marketplace off, every image from the private
// registry (or imported from the bundle), and wired to the cluster's own models.
//   cluster/helm/dify.values.yaml         Helm values (SECRET: see below), release "dify", order 70
//   cluster/71-dify-model-providers.yaml  ConfigMap: in-cluster URLs and model names for Dify's Ollama and
//                                         OpenAI-API-compatible providers (registration: docs/dify-models.md)
//
// Secrets: chart 0.37.0 reads its app secret key and every internal credential (postgres, redis, sandbox, plugin
// daemon, weaviate) from values only; its sole alternative is the External Secrets Operator, which an air-gapped
// cluster does not have. So the values file carries them and is marked secret (mode 0600, never shown by the API).
// The chart's defaults for the internal credentials are public strings; we replace each with an HMAC-SHA256 of the
// Dify secret key and the credential's purpose: deterministic (re-rendering gives the same values, so the postgres
// volume's password keeps matching) and never stored anywhere but this file. Rotating the Dify secret key therefore
// rotates them too; bitnami postgresql only applies its password on first initialisation (see docs/dify-models.md).
import { createHmac } from 'node:crypto';
import type { ClusterView } from '../../../spec/derive.js';
import type { ModelSpec } from '../../../spec/schema.js';
import { parseImage, resolveImage } from '../../../images.js';
import type { RenderInputs, GeneratedFile } from '../../types.js';
import { clusterFile, type ClusterUnit } from '../../types.js';
import { toYaml, yamlFile } from '../../render/yaml.js';
import { hashMarker } from '../../render/marker.js';
import { applyUnit, helmUnit, type AddonModule } from '../addon.js';
import { valuesPath, type HelmRelease } from '../helm.js';
import { MANAGED_BY, modelServiceUrl } from '../models/common.js';
import { VLLM_API_KEY_SECRET_KEY, vllmApiKeySecretName } from '../models/vllm.js';

const NAME = 'dify';
export const DIFY_RELEASE = 'dify';
/** nginx in the chart's proxy Deployment listens here (container port "dify"); the Service maps 80 -> 8080. */
export const DIFY_PROXY_PORT = 8080;

/** The proxy pods the NodePort Service selects (chart templates/service.yaml with release "dify"). */
export function difyProxySelector(): Record<string, string> {
  return { 'app.kubernetes.io/name': 'dify', 'app.kubernetes.io/instance': DIFY_RELEASE, component: 'proxy' };
}

interface DifyImages {
  api: string;
  web: string;
  sandbox: string;
  pluginDaemon: string;
  proxy: string;
  postgresql: string;
  redis: string;
  weaviate: string;
}

/**
 * Images per chart version we have read the values of. Tags are the chart's own defaults except nginx, which the chart
 * leaves at `latest` (unusable for a reproducible offline bundle).
 */
export const DIFY_CHARTS: Record<string, DifyImages> = {
  '0.37.0': {
    api: 'docker.io/langgenius/dify-api:1.14.2',
    web: 'docker.io/langgenius/dify-web:1.14.2',
    sandbox: 'docker.io/langgenius/dify-sandbox:0.2.15',
    pluginDaemon: 'docker.io/langgenius/dify-plugin-daemon:0.6.1-local',
    proxy: 'docker.io/library/nginx:1.27.5',
    postgresql: 'docker.io/bitnamilegacy/postgresql:15.3.0-debian-11-r7',
    redis: 'docker.io/bitnamilegacy/redis:7.0.11-debian-11-r12',
    weaviate: 'cr.weaviate.io/semitechnologies/weaviate:1.27.27',
  },
};

function chartImages(view: ClusterView): DifyImages {
  const v = view.cluster.spec.apps.dify.chartVersion.replace(/^v/, '');
  const images = DIFY_CHARTS[v];
  if (!images) throw new Error(`dify: no image table for chart ${v} (validate the spec first)`);
  return images;
}

/** `repository` + `tag` as the dify chart joins them: "{{ repository }}:{{ tag }}". */
function repoTag(upstream: string, registry: string): { repository: string; tag: string } {
  const ref = resolveImage(upstream, registry);
  const { tag } = parseImage(upstream);
  return { repository: ref.slice(0, ref.length - tag.length - 1), tag };
}

/** `registry` + `repository` + `tag` as bitnami charts join them: "{{ registry }}/{{ repository }}:{{ tag }}". */
function registryRepoTag(upstream: string, registry: string): { registry: string; repository: string; tag: string } {
  const i = parseImage(upstream);
  return { registry: registry || i.host, repository: i.path, tag: i.tag };
}

/** Deterministic internal credential derived from the Dify secret key (hex, 32 chars: safe inside URLs). */
export function deriveCredential(secretKey: string, purpose: string): string {
  return createHmac('sha256', secretKey).update(`airgap-k8s/dify/${purpose}`).digest('hex').slice(0, 32);
}

export function difyValues(view: ClusterView, secretKey: string): object {
  const dify = view.cluster.spec.apps.dify;
  const reg = view.registry;
  const img = chartImages(view);
  const cred = (purpose: string) => deriveCredential(secretKey, purpose);
  const weaviateImage = registryRepoTag(img.weaviate, reg);
  return {
    global: {
      appSecretKey: secretKey,
      internalApiKey: cred('internal-api'),
      marketplace: { enabled: false },
    },
    image: {
      api: repoTag(img.api, reg),
      web: repoTag(img.web, reg),
      sandbox: repoTag(img.sandbox, reg),
      pluginDaemon: repoTag(img.pluginDaemon, reg),
      proxy: repoTag(img.proxy, reg),
    },
    service: { type: 'NodePort', port: 80, nodePort: dify.service.nodePort },
    api: {
      // the chart's default list, restated because setting extraEnv replaces it: no update checks from offline
      extraEnv: [{ name: 'CHECK_UPDATE_URL', value: '' }],
      // The chart asks for ReadWriteMany, which the cluster's default class (local-path) cannot provide: the claim
      // would stay Pending. ReadWriteOnce keeps api and worker (which mount the same claim) on one node.
      persistence: { persistentVolumeClaim: { accessModes: 'ReadWriteOnce' } },
    },
    sandbox: { auth: { apiKey: cred('sandbox') } },
    pluginDaemon: {
      auth: { serverKey: cred('plugin-daemon-server'), difyApiKey: cred('plugin-daemon-inner-api') },
      persistence: { persistentVolumeClaim: { accessModes: 'ReadWriteOnce' } },
    },
    ssrfProxy: { enabled: false },
    postgresql: {
      enabled: true,
      architecture: 'standalone',
      global: { postgresql: { auth: { postgresPassword: cred('postgres'), database: 'dify' } } },
      image: registryRepoTag(img.postgresql, reg),
    },
    redis: {
      enabled: true,
      architecture: 'standalone',
      auth: { enabled: true, sentinel: false, password: cred('redis') },
      image: registryRepoTag(img.redis, reg),
    },
    weaviate: {
      enabled: true,
      image: { registry: weaviateImage.registry, repo: weaviateImage.repository, tag: weaviateImage.tag },
      // privileged (sets vm.max_map_count on the host): forbidden by the namespace's baseline Pod Security level
      initContainers: { sysctlInitContainer: { enabled: false } },
      authentication: { apikey: { enabled: true, allowed_keys: [cred('weaviate')] } },
      env: { AUTHENTICATION_APIKEY_ALLOWED_KEYS: cred('weaviate') },
    },
  };
}

export interface DifyProvider {
  model: string;
  engine: ModelSpec['engine'];
  /** Dify's provider (plugin) that talks to this engine */
  provider: 'ollama' | 'openai_api_compatible';
  plugin: string;
  baseUrl: string;
  /** the name clients ask for */
  modelName: string;
  contextSize?: number;
  apiKeySecret?: { namespace: string; name: string; key: string };
}

export function difyProviders(view: ClusterView): DifyProvider[] {
  const s = view.cluster.spec;
  return s.apps.dify.models.map((name): DifyProvider => {
    const m = s.models.find((x) => x.name === name);
    if (!m) throw new Error(`dify: model ${name} is not in spec.models (validate the spec first)`);
    if (m.engine === 'ollama') {
      return { model: m.name, engine: m.engine, provider: 'ollama', plugin: 'langgenius/ollama', baseUrl: modelServiceUrl(view, m), modelName: m.model };
    }
    return {
      model: m.name,
      engine: m.engine,
      provider: 'openai_api_compatible',
      plugin: 'langgenius/openai_api_compatible',
      baseUrl: modelServiceUrl(view, m),
      modelName: m.servedModelName,
      contextSize: m.maxModelLen,
      apiKeySecret: m.apiKeyRef ? { namespace: m.environment, name: vllmApiKeySecretName(m), key: VLLM_API_KEY_SECRET_KEY } : undefined,
    };
  });
}

export function modelProvidersConfigMap(view: ClusterView): object {
  const dify = view.cluster.spec.apps.dify;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'dify-model-providers',
      namespace: dify.environment,
      labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': 'dify', 'airgap-k8s.io/environment': dify.environment },
    },
    data: { 'providers.yaml': toYaml(difyProviders(view)) },
  };
}

export const difyAddon: AddonModule = {
  name: NAME,
  units(view: ClusterView, inputs: RenderInputs): ClusterUnit[] {
    const dify = view.cluster.spec.apps.dify;
    if (!dify.enabled) return [];
    const secretKey = inputs.secrets.passwords[dify.secretKeyRef];
    if (secretKey === undefined) throw new Error(`dify: secret "${dify.secretKeyRef}" is missing from the secrets`);
    const note = [
      '# SECRET: holds the Dify secret key and the internal credentials derived from it. The chart (0.37.0) reads them',
      '# from values only (its alternative is the External Secrets Operator), so this file is mode 0600.',
      '',
    ].join('\n');
    const values = hashMarker(view.name) + note + toYaml(difyValues(view, secretKey));
    const [release] = difyAddon.helmReleases(view);
    return [
      helmUnit('apps', release!, clusterFile(NAME, valuesPath(DIFY_RELEASE), values, { secret: true })),
      applyUnit('dify-model-providers', 'apps', clusterFile(NAME, 'cluster/71-dify-model-providers.yaml', yamlFile(view.name, [modelProvidersConfigMap(view)])), { after: [DIFY_RELEASE] }),
    ];
  },
  images(view: ClusterView): string[] {
    if (!view.cluster.spec.apps.dify.enabled) return [];
    return Object.values(chartImages(view)).map((i) => resolveImage(i, view.registry)).sort();
  },
  helmReleases(view: ClusterView): HelmRelease[] {
    const dify = view.cluster.spec.apps.dify;
    if (!dify.enabled) return [];
    const version = dify.chartVersion.replace(/^v/, '');
    return [{ release: DIFY_RELEASE, namespace: dify.environment, chart: 'dify', version, bundlePath: `charts/dify-${version}.tgz` }];
  },
};
