// Every Kubernetes object we render — every document of every cluster/NN-*.yaml of every valid fixture, all addons,
// whoever wrote them — validated offline and STRICTLY against the Kubernetes v1.34.3 OpenAPI v3 specs
// (test/support/k8s-schema.ts). Helm values files are not Kubernetes objects and are only checked for YAML 1.1/1.2
// agreement below.
//
// The specs: scripts/fetch-k8s-openapi.sh fetches k8s.io/kubernetes@v1.34.3 from the Go module proxy into
// ${AIRGAP_K8S_CACHE:-~/.cache/airgap-k8s}/openapi/v1.34.3 (outside the work tree, never committed). beforeAll runs it
// when that cache is cold (a few seconds; bounded by the hook timeout) and not at all when warm, so
// `npm run test:unit` works offline once the cache exists. Cold and offline, this file fails and names the script.
//
// Custom resources are NOT schema-validated here (their CRDs arrive with the charts): CRD_KINDS lists each one we
// render, and any other kind without a built-in schema fails. Server-side validation against a kube-apiserver with
// the CRDs installed belongs to the toolchain tier.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { outputPath, renderCluster } from '../../src/generators/index.js';
import type { RenderInputs } from '../../src/generators/types.js';
import { FIXTURES, loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';
import { EXTRA_ENUMS, k8sSchemas, type K8sSchemas } from '../support/k8s-schema.js';

/** Custom resources we render, by apiVersion/kind, with the chart that installs their CRD. */
const CRD_KINDS: Record<string, string> = {
  'monitoring.coreos.com/v1/ServiceMonitor': 'kube-prometheus-stack',
  'operator.tigera.io/v1/Installation': 'tigera-operator',
  'operator.tigera.io/v1/APIServer': 'tigera-operator',
};

/**
 * YAML 1.1 readers (kubectl and helm parse with go-yaml v2 semantics) take y/yes/on/off/... as booleans and
 * leading-zero integers as octal; YAML 1.2 (js-yaml, our writer) takes them as strings/decimals.
 */
// js-yaml 4 exports its built-in types at runtime; @types/js-yaml does not declare them.
type ScalarType = yaml.Type & { resolve(s: string): boolean; construct(s: string): unknown };
const builtin = (yaml as unknown as { types: Record<'null' | 'bool' | 'int' | 'float', ScalarType> }).types;
const coreBool = builtin.bool;
const coreInt = builtin.int;
const yaml11Bool = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string) => /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(s) || coreBool.resolve(s),
  construct: (s: string) => (/^(y|Y|yes|Yes|YES|on|On|ON)$/.test(s) ? true : /^(n|N|no|No|NO|off|Off|OFF)$/.test(s) ? false : coreBool.construct(s)),
});
const yaml11Int = new yaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string) => /^[-+]?0[0-7]+$/.test(s) || coreInt.resolve(s),
  construct: (s: string) => (/^[-+]?0[0-7]+$/.test(s) ? Number.parseInt(s, 8) : coreInt.construct(s)),
});
const YAML11 = yaml.FAILSAFE_SCHEMA.extend({ implicit: [builtin.null, yaml11Bool, yaml11Int, builtin.float] });

const calicoExcerpt = readFileSync(join(FIXTURES, 'upstream', 'calico-excerpt.yaml'), 'utf8');

/** Test inputs plus the upstream Calico text, so manifest-mode Calico renders (and is validated) too. */
function factsWithUpstream(): RenderInputs {
  return { ...testInputs(), upstream: { calicoManifest: calicoExcerpt } };
}

interface RenderedYaml {
  fixture: string;
  path: string;
  content: string;
}

function renderedYaml(): RenderedYaml[] {
  const out: RenderedYaml[] = [];
  for (const fixture of validFixtureNames()) {
    for (const f of renderCluster(loadFixture(fixture), factsWithUpstream())) {
      const path = outputPath(f);
      if (path.startsWith('cluster/') && path.endsWith('.yaml')) out.push({ fixture, path, content: f.content });
    }
  }
  return out;
}

type Doc = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; [k: string]: unknown } };

describe('rendered manifests against the Kubernetes v1.34.3 OpenAPI schemas', () => {
  let schemas: K8sSchemas;
  beforeAll(() => {
    schemas = k8sSchemas();
  }, 300_000);

  it('every document of every cluster/NN-*.yaml validates strictly (custom resources listed in CRD_KINDS)', () => {
    const failures: string[] = [];
    const counts = { validated: 0, customResources: 0 };
    const files = renderedYaml().filter((r) => !r.path.startsWith('cluster/helm/'));
    expect(files.length).toBeGreaterThan(0);
    for (const r of files) {
      // Parse as kubectl does (YAML 1.1 scalars), so a string our writer left ambiguous shows up as a type error.
      const docs = (yaml.loadAll(r.content, undefined, { schema: YAML11 }) as Doc[]).filter((d) => d !== null && d !== undefined);
      docs.forEach((doc, i) => {
        const where = `${r.fixture}: ${r.path} #${i + 1} ${doc.kind ?? '?'} ${doc.metadata?.namespace ? `${doc.metadata.namespace}/` : ''}${doc.metadata?.name ?? '?'}`;
        const gvk = `${doc.apiVersion}/${doc.kind}`;
        if (CRD_KINDS[gvk]) {
          counts.customResources++;
          if (typeof doc.metadata?.name !== 'string') failures.push(`${where}: custom resource without metadata.name`);
          return;
        }
        counts.validated++;
        for (const issue of schemas.validate(doc)) failures.push(`${where}: ${issue.path || '(root)'}: ${issue.message}`);
      });
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(counts.validated).toBeGreaterThan(50);
    expect(counts.customResources).toBeGreaterThan(0);
  });

  it('every rendered YAML file (Helm values included) reads the same to YAML 1.1 (kubectl, helm) and 1.2', () => {
    const differ: string[] = [];
    for (const r of renderedYaml()) {
      const v12 = yaml.loadAll(r.content, undefined, { schema: yaml.CORE_SCHEMA });
      const v11 = yaml.loadAll(r.content, undefined, { schema: YAML11 });
      if (JSON.stringify(v12) !== JSON.stringify(v11)) differ.push(`${r.fixture}: ${r.path}`);
    }
    expect(differ, 'files with y/yes/on/off-style or leading-zero plain scalars').toEqual([]);
  });

  it('the YAML 1.1 check can fail: an unquoted `on` and a leading-zero integer differ', () => {
    const text = 'a: on\nb: 0644\nc: "on"\n';
    expect(yaml.load(text, { schema: YAML11 })).toEqual({ a: true, b: 420, c: 'on' });
    expect(yaml.load(text, { schema: yaml.CORE_SCHEMA })).toEqual({ a: 'on', b: 644, c: 'on' });
  });

  describe('the validator rejects what the API server would', () => {
    const deployment = (): Doc => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'registry.local:5000/k8s/library/nginx:1.27.5',
                ports: [{ containerPort: 8080, name: 'http' }],
                env: [{ name: 'A', value: '1' }],
                resources: { limits: { cpu: '500m', memory: '64Mi', 'nvidia.com/gpu': 1 } },
                readinessProbe: { httpGet: { path: '/', port: 'http' } },
                livenessProbe: { httpGet: { path: '/', port: 8080 } },
              },
            ],
          },
        },
      },
    });
    const at = <T>(o: Doc, f: (d: any) => T): T => f(o);

    it('accepts a valid Deployment (int-or-string ports, quantities as strings and numbers)', () => {
      expect(schemas.validate(deployment())).toEqual([]);
    });

    it('rejects an unknown field, naming its path', () => {
      const d = deployment();
      at(d, (x) => (x.spec.template.spec.containers[0].imagePullPolicyy = 'Always'));
      expect(schemas.validate(d)).toEqual([{ path: 'spec.template.spec.containers[0].imagePullPolicyy', message: 'unknown field "imagePullPolicyy"' }]);
    });

    it('rejects an unknown top-level field and an unknown metadata field', () => {
      const d = { ...deployment(), extra: 1, metadata: { name: 'web', lables: {} } };
      expect(schemas.validate(d).map((i) => i.path).sort()).toEqual(['extra', 'metadata.lables']);
    });

    it('rejects a wrong type', () => {
      const d = deployment();
      at(d, (x) => (x.spec.replicas = '2'));
      expect(schemas.validate(d)).toEqual([{ path: 'spec.replicas', message: 'must be an integer, got string "2"' }]);
      const e = deployment();
      at(e, (x) => (x.spec.template.spec.hostNetwork = 'true'));
      expect(schemas.validate(e).map((i) => i.path)).toEqual(['spec.template.spec.hostNetwork']);
      const l = deployment();
      at(l, (x) => (x.metadata.labels.enabled = true));
      expect(schemas.validate(l).map((i) => i.path)).toEqual(['metadata.labels.enabled']);
    });

    it('rejects a missing required field, null, a bad quantity and a non-int-or-string', () => {
      const d = deployment();
      at(d, (x) => delete x.spec.template.spec.containers[0].name);
      expect(schemas.validate(d).map((i) => i.message)).toEqual(['missing required field "name"']);
      const n = deployment();
      at(n, (x) => (x.spec.template.spec.nodeSelector = null));
      expect(schemas.validate(n).map((i) => i.path)).toEqual(['spec.template.spec.nodeSelector']);
      const q = deployment();
      at(q, (x) => (x.spec.template.spec.containers[0].resources.limits.memory = '64 GiB'));
      expect(schemas.validate(q).map((i) => i.path)).toEqual(['spec.template.spec.containers[0].resources.limits.memory']);
      const p = deployment();
      at(p, (x) => (x.spec.template.spec.containers[0].livenessProbe.httpGet.port = true));
      expect(schemas.validate(p).map((i) => i.path)).toEqual(['spec.template.spec.containers[0].livenessProbe.httpGet.port']);
    });

    it('rejects values outside the server-enforced sets and int32', () => {
      const d = deployment();
      at(d, (x) => (x.spec.template.spec.tolerations = [{ key: 'nvidia.com/gpu', operator: 'Exist', effect: 'NoSchedule' }]));
      expect(schemas.validate(d).map((i) => i.path)).toEqual(['spec.template.spec.tolerations[0].operator']);
      const big = deployment();
      at(big, (x) => (x.spec.replicas = 2 ** 31));
      expect(schemas.validate(big).map((i) => i.message)).toEqual([`must fit in int32, got ${2 ** 31}`]);
    });

    it('rejects duplicate keys in list-maps (env names; container ports with the default protocol)', () => {
      const d = deployment();
      at(d, (x) => x.spec.template.spec.containers[0].env.push({ name: 'A', value: '2' }));
      at(d, (x) => x.spec.template.spec.containers[0].ports.push({ containerPort: 8080, protocol: 'TCP', name: 'other' }));
      expect(schemas.validate(d).map((i) => i.path).sort()).toEqual(['spec.template.spec.containers[0].env[1]', 'spec.template.spec.containers[0].ports[1]']);
    });

    it('rejects a Job whose pods restart Always, a missing name and an unknown kind', () => {
      const job: Doc = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { namespace: 'default' },
        spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'x:1' }] } } },
      };
      expect(schemas.validate(job).map((i) => i.path).sort()).toEqual(['metadata.name', 'spec.template.spec.restartPolicy']);
      expect(schemas.validate({ apiVersion: 'apps/v1', kind: 'Deployments', metadata: { name: 'x' } })[0]?.message).toMatch(/no Deployments in apps\/v1/);
      expect(schemas.validate({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'x' } })).not.toEqual([]);
    });

    it('accepts free-form and preserve-unknown-fields places (a CRD schema, Secret stringData)', () => {
      const crd = (yaml.loadAll(calicoExcerpt, undefined, { schema: yaml.CORE_SCHEMA }) as Doc[]).find((d) => d?.kind === 'CustomResourceDefinition');
      expect(crd).toBeDefined();
      expect(schemas.validate(crd)).toEqual([]);
      expect(schemas.validate({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { 'a.b': 'c' }, data: { x: 'not base64!' } }).map((i) => i.path)).toEqual(['data.x']);
    });

    it('EXTRA_ENUMS names real schema properties', () => {
      const missing: string[] = [];
      for (const [name, props] of Object.entries(EXTRA_ENUMS)) {
        const s = schemas.schema(name);
        for (const p of Object.keys(props)) if (!s?.properties?.[p]) missing.push(`${name}.${p}`);
      }
      expect(missing).toEqual([]);
    });
  });
});
