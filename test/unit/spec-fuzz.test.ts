// Property tests of the spec boundary.
// 1. Hostile text (shell metacharacters, newlines, YAML/TOML/INI-breaking characters, non-ASCII, very long runs)
//    spliced into ANY user-written string that reaches a file is refused by parseSpec, with an issue at that field.
// 2. Specs built from arbitrary but valid values are accepted and render: renderCluster never throws, every file
//    carries the marker and ends with a newline, YAML and TOML files parse, shell scripts pass `sh -n`.
// numRuns stay small for the unit tier; FUZZ_RUNS=2000 npx vitest run test/unit/spec-fuzz.test.ts digs deeper.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import yaml from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { outputPath, renderCluster } from '../../src/generators/index.js';
import { HOSTS_BEGIN } from '../../src/generators/hosts/hosts.js';
import { markerText } from '../../src/generators/render/marker.js';
import { formatPath, type PathSegment } from '../../src/spec/issues.js';
import { parseSpec } from '../../src/spec/load.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import type { RenderInputs } from '../../src/generators/types.js';
import { passwordRefs, sshKeyRefs } from '../../src/secrets/secrets.js';
import { testInputs } from '../support/fixtures.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 0) || undefined;
const runs = (n: number) => ({ numRuns: RUNS ?? n });

/** A spec that sets every user-written string field the schema has (each one valid). */
function richSpec(): Record<string, any> {
  return {
    apiVersion: 'airgap-k8s/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'fuzz' },
    spec: {
      kubernetesVersion: 'v1.34.3',
      hosts: [
        {
          name: 'master1',
          address: '10.0.0.11',
          roles: ['control-plane', 'load-balancer'],
          interface: 'ens0',
          ssh: { user: 'admin', port: 2222, privateKeyRef: 'ops-key', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` },
          labels: { zone: 'rack-1' },
        },
        { name: 'master2', address: '10.0.0.12', roles: ['control-plane', 'load-balancer'], interface: 'ens0' },
        { name: 'master3', address: '10.0.0.13', roles: ['control-plane'], interface: 'ens0' },
        { name: 'gpu1', address: '10.0.0.21', roles: ['worker'], interface: 'ens0', gpu: { vendor: 'nvidia', count: 2, product: 'A100-80GB' } },
      ],
      ssh: { user: 'root', privateKeyRef: 'default' },
      controlPlane: {
        endpoint: { host: '10.0.0.100', port: 6553 },
        loadBalancer: { mode: 'keepalived-haproxy', virtualRouterId: 51, authPassRef: 'vrrp' },
      },
      network: { podSubnet: '192.168.0.0/16', serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local', hostSubnet: '10.0.0.0/24' },
      containerRuntime: { containerd: { version: '1.7.28' } },
      offline: { bundleDir: '/data/k8s', registry: 'registry.local:5000/k8s', registryCAFile: '/etc/pki/registry.crt' },
      addons: {
        cni: { calico: { version: 'v3.27.0', ipAutodetection: 'interface=ens0' } },
        dashboard: { chartVersion: '7.14.0' },
        gpuOperator: { version: 'v25.10.1' },
        monitoring: {
          namespace: 'monitoring',
          chartVersion: '88.5.3',
          grafana: { adminPasswordRef: 'grafana' },
          retention: '15d',
          storage: { size: '50Gi', storageClassName: 'local-path' },
        },
      },
      environments: [{ name: 'prod', quota: { cpu: '16', memory: '64Gi', gpus: 2 }, labels: { team: 'ai' } }],
      models: [
        {
          name: 'qwen-ollama',
          engine: 'ollama',
          environment: 'prod',
          model: 'qwen2.5:7b',
          modelFile: 'models/qwen.gguf',
          keepAlive: '24h',
          image: 'ollama/ollama:0.12.6',
          storage: { size: '100Gi', storageClassName: 'local-path' },
        },
        {
          name: 'qwen-vllm',
          engine: 'vllm',
          environment: 'prod',
          modelPath: '/data/models/qwen',
          servedModelName: 'qwen2.5-7b',
          apiKeyRef: 'vllm-key',
          image: 'vllm/vllm-openai:v0.11.0',
        },
      ],
      apps: { dify: { enabled: true, environment: 'prod', models: ['qwen-ollama', 'qwen-vllm'], chartVersion: '0.37.0', secretKeyRef: 'dify' } },
    },
  };
}

interface Field {
  /** path of the value in the document */
  path: PathSegment[];
  /** the value is a mapping key rather than a value (labels) */
  key?: boolean;
  /** characters the field's own grammar allows (Calico's interface=REGEX, base64 padding) */
  allows?: string;
}

const S = ['spec'];
const FIELDS: Field[] = [
  { path: ['metadata', 'name'] },
  { path: [...S, 'kubernetesVersion'] },
  { path: [...S, 'hosts', 0, 'name'] },
  { path: [...S, 'hosts', 0, 'address'] },
  { path: [...S, 'hosts', 0, 'interface'] },
  { path: [...S, 'hosts', 0, 'ssh', 'user'] },
  { path: [...S, 'hosts', 0, 'ssh', 'privateKeyRef'] },
  { path: [...S, 'hosts', 0, 'ssh', 'hostKeyFingerprint'], allows: '=' },
  { path: [...S, 'hosts', 0, 'labels', 'zone'] },
  { path: [...S, 'hosts', 0, 'labels', 'zone'], key: true },
  { path: [...S, 'hosts', 3, 'gpu', 'product'] },
  { path: [...S, 'ssh', 'user'] },
  { path: [...S, 'ssh', 'privateKeyRef'] },
  { path: [...S, 'controlPlane', 'endpoint', 'host'] },
  { path: [...S, 'controlPlane', 'loadBalancer', 'authPassRef'] },
  { path: [...S, 'network', 'podSubnet'] },
  { path: [...S, 'network', 'serviceSubnet'] },
  { path: [...S, 'network', 'hostSubnet'] },
  { path: [...S, 'network', 'dnsDomain'] },
  { path: [...S, 'containerRuntime', 'containerd', 'version'] },
  { path: [...S, 'offline', 'bundleDir'] },
  { path: [...S, 'offline', 'registry'] },
  { path: [...S, 'offline', 'registryCAFile'] },
  { path: [...S, 'addons', 'cni', 'calico', 'version'] },
  { path: [...S, 'addons', 'cni', 'calico', 'ipAutodetection'], allows: '|*' },
  { path: [...S, 'addons', 'dashboard', 'chartVersion'] },
  { path: [...S, 'addons', 'gpuOperator', 'version'] },
  { path: [...S, 'addons', 'monitoring', 'namespace'] },
  { path: [...S, 'addons', 'monitoring', 'chartVersion'] },
  { path: [...S, 'addons', 'monitoring', 'grafana', 'adminPasswordRef'] },
  { path: [...S, 'addons', 'monitoring', 'retention'] },
  { path: [...S, 'addons', 'monitoring', 'storage', 'size'] },
  { path: [...S, 'addons', 'monitoring', 'storage', 'storageClassName'] },
  { path: [...S, 'environments', 0, 'name'] },
  { path: [...S, 'environments', 0, 'quota', 'cpu'] },
  { path: [...S, 'environments', 0, 'quota', 'memory'] },
  { path: [...S, 'environments', 0, 'labels', 'team'] },
  { path: [...S, 'environments', 0, 'labels', 'team'], key: true },
  ...['name', 'environment', 'model', 'modelFile', 'keepAlive', 'image'].map((k) => ({ path: [...S, 'models', 0, k] })),
  { path: [...S, 'models', 0, 'storage', 'size'] },
  { path: [...S, 'models', 0, 'storage', 'storageClassName'] },
  ...['name', 'environment', 'modelPath', 'servedModelName', 'apiKeyRef', 'image'].map((k) => ({ path: [...S, 'models', 1, k] })),
  ...['environment', 'chartVersion', 'secretKeyRef'].map((k) => ({ path: [...S, 'apps', 'dify', k] })),
  { path: [...S, 'apps', 'dify', 'models', 0] },
];

function parentOf(doc: Record<string, any>, path: PathSegment[]): any {
  let v: any = doc;
  for (const seg of path.slice(0, -1)) v = v[seg as string];
  return v;
}

function get(doc: Record<string, any>, f: Field): string {
  const last = f.path[f.path.length - 1] as string;
  return f.key ? last : (parentOf(doc, f.path)[last] as string);
}

/** Put `value` into the field; returns the path where the issue is expected. */
function set(doc: Record<string, any>, f: Field, value: string): PathSegment[] {
  const parent = parentOf(doc, f.path);
  const last = f.path[f.path.length - 1] as string;
  if (!f.key) {
    parent[last] = value;
    return f.path;
  }
  const v = parent[last];
  delete parent[last];
  parent[value] = v;
  return [...f.path.slice(0, -1), value];
}

const SHELL = [';', '|', '&', '$', '(', ')', '`', "'", '"', ' ', '\n'];
const CONFIG = ['#', '{', '}', '[', ']', '=', '\\', '\r', '\t', '\u0000', '<', '>', '*', '!', '%'];
const HOSTILE = [...SHELL, ...CONFIG];

/** Something no field accepts, spliced into a valid value. */
const hostilePiece = (allows = '') =>
  fc.oneof(
    fc.constantFrom(...HOSTILE.filter((c) => !allows.includes(c))),
    fc.tuple(fc.constantFrom(...HOSTILE.filter((c) => !allows.includes(c))), fc.string({ maxLength: 12 })).map(([c, s]) => c + s),
    // non-ASCII: every grammar is ASCII-only
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).filter((s) => /[^\x00-\x7f]/.test(s)),
    fc.constantFrom('é', 'ｉ', '\u200b', '\u202e', '😀', 'İ'),
    // very long: beyond every field's length limit
    fc.integer({ min: 300, max: 3000 }).map((n) => 'a'.repeat(n)),
  );

describe('hostile strings in every user-written field are refused at that field', () => {
  it('the rich spec the fields are spliced into is itself valid', () => {
    const r = parseSpec(richSpec());
    expect(r.ok ? [] : r.issues).toEqual([]);
    for (const f of FIELDS) expect(typeof get(richSpec(), f), formatPath(f.path)).toBe('string');
  });

  const refusedAt = (f: Field, value: string, asText: boolean) => {
    const doc = richSpec();
    const where = formatPath(set(doc, f, value));
    const r = parseSpec(asText ? yaml.dump(doc) : doc);
    return { ok: r.ok, where, paths: r.ok ? [] : r.issues.map((i) => i.path) };
  };

  it.each(FIELDS.map((f) => [`${formatPath(f.path)}${f.key ? ' (key)' : ''}`, f] as const))('%s: each hostile character, non-ASCII, 300 more characters', (_, f) => {
    const base = get(richSpec(), f);
    // each hostile character once, at the end, the start or after the first character in turn; non-ASCII and a
    // run of 300 ordinary characters at all three places
    const at = (c: string) => [`${base}${c}`, `${c}${base}`, `${base.slice(0, 1)}${c}${base.slice(1)}`];
    const values = [
      ...HOSTILE.filter((x) => !(f.allows ?? '').includes(x)).map((c, i) => at(c)[i % 3]!),
      ...['é', '\u202e', 'a'.repeat(300)].flatMap(at),
    ];
    for (const value of values) {
      const r = refusedAt(f, value, false);
      expect(r.ok, JSON.stringify(value)).toBe(false);
      expect(r.paths, JSON.stringify(value)).toContain(r.where);
    }
    // path fields also refuse traversal
    if (/bundleDir|registryCAFile|modelPath|modelFile/.test(String(f.path.at(-1)))) {
      for (const value of [`${base}/../../etc/shadow`, '../x']) expect(refusedAt(f, value, false).paths).toContain(formatPath(f.path));
    }
  });

  it('random hostile values in random fields, as objects and as YAML text', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FIELDS).chain((f) => fc.tuple(fc.constant(f), hostilePiece(f.allows), fc.nat(), fc.boolean())),
        ([f, piece, at, asText]) => {
          const base = get(richSpec(), f);
          const i = at % (base.length + 1);
          const r = refusedAt(f, base.slice(0, i) + piece + base.slice(i), asText);
          expect(r.ok).toBe(false);
          expect(r.paths).toContain(r.where);
        },
      ),
      runs(200),
    );
  }, 60_000);
});

// ---- valid specs from arbitrary values ----

const label = (max = 20) => fc.stringMatching(new RegExp(`^[a-z0-9]([-a-z0-9]{0,${max}}[a-z0-9])?$`));
const labelKey = fc.stringMatching(/^([a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?$/);
const labelValue = fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?)?$/);
const iface = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/);
const secretRef = fc.stringMatching(/^[a-z0-9]([-a-z0-9_]{0,20}[a-z0-9])?$/);
const absPath = fc.array(fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,15}$/), { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`);
const bundlePath = fc.array(fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,15}$/), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const image = fc
  .tuple(fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$/))
  .map(([parts, tag]) => `${parts.join('/')}:${tag}`);

const validSpec = fc
  .record({
    name: label(),
    hostNames: fc.uniqueArray(label(12), { minLength: 8, maxLength: 8 }),
    os: fc.constantFrom('rhel8', 'debian12'),
    ha: fc.boolean(),
    lbCount: fc.constantFrom(2, 3),
    lbPort: fc.integer({ min: 1024, max: 65535 }).filter((p) => p !== 6443),
    vrid: fc.integer({ min: 1, max: 255 }),
    unicast: fc.boolean(),
    notifyArping: fc.boolean(),
    workers: fc.integer({ min: 0, max: 2 }),
    gpuCount: fc.integer({ min: 1, max: 8 }),
    gpuProduct: fc.option(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/), { nil: undefined }),
    iface,
    // the hosts' 10.<octet>.0.0/24 must stay clear of the default Service network 10.96.0.0/12
    octet: fc.integer({ min: 0, max: 239 }).map((n) => (n < 96 ? n : n + 16)),
    hostLabels: fc.dictionary(labelKey, labelValue, { maxKeys: 3 }),
    dnsDomain: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?){0,3}$/),
    registry: fc.oneof(fc.constant(''), fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?(:[1-9][0-9]{0,3})?(\/[a-z0-9]+([._-][a-z0-9]+)*){0,2}$/)),
    registryCAFile: fc.option(absPath, { nil: undefined }),
    bundleDir: absPath,
    containerd: fc.constantFrom('1.6.32', '1.7.28', '2.0.6', '2.1.4'),
    encapsulation: fc.constantFrom('IPIP', 'VXLAN', 'None'),
    calicoMode: fc.constantFrom('manifest', 'operator'),
    ipAutodetection: fc.option(fc.constantFrom('first-found', 'kubernetes-internal-ip', 'interface=eth.*|ens.*', 'can-reach=10.0.0.1', 'cidr=10.0.0.0/8'), { nil: undefined }),
    dashboardKind: fc.constantFrom('kubernetes-dashboard', 'headlamp'),
    sshUser: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/),
    keyRef: secretRef,
    passRef: secretRef,
    envs: fc.uniqueArray(label(12).map((n) => `env-${n}`), { minLength: 1, maxLength: 3 }),
    envLabels: fc.dictionary(fc.stringMatching(/^[a-z0-9]([-a-z0-9_.]{0,10}[a-z0-9])?$/), labelValue, { maxKeys: 2 }),
    models: fc.array(
      fc.record({
        engine: fc.constantFrom('ollama', 'vllm'),
        name: label(12),
        env: fc.nat(),
        gpus: fc.integer({ min: 0, max: 8 }),
        model: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}(:[a-z0-9][a-z0-9._-]{0,10})?$/),
        modelFile: fc.option(bundlePath, { nil: undefined }),
        keepAlive: fc.stringMatching(/^-?[0-9]{1,4}(s|m|h)?$/),
        modelPath: absPath,
        servedModelName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/),
        apiKeyRef: fc.option(secretRef, { nil: undefined }),
        image: fc.option(image, { nil: undefined }),
        nodePort: fc.option(fc.integer({ min: 30000, max: 32767 }), { nil: undefined }),
        maxModelLen: fc.option(fc.integer({ min: 256, max: 131072 }), { nil: undefined }),
      }),
      { maxLength: 3 },
    ),
    dify: fc.boolean(),
  })
  .map((a) => {
    const names = a.hostNames;
    const addr = (i: number) => `10.${a.octet}.0.${i + 10}`;
    const cps = a.ha ? 3 : 1;
    const hosts: Record<string, any>[] = [];
    for (let i = 0; i < cps; i++) {
      hosts.push({ name: names[i], address: addr(i), roles: ['control-plane', ...(a.ha && i < a.lbCount ? ['load-balancer'] : [])], interface: a.iface, os: a.os });
    }
    for (let i = 0; i < a.workers; i++) hosts.push({ name: names[3 + i], address: addr(3 + i), roles: ['worker'], os: a.os, labels: a.hostLabels });
    hosts.push({ name: names[7], address: addr(7), roles: ['worker'], os: a.os, gpu: { vendor: 'nvidia', count: a.gpuCount, product: a.gpuProduct } });
    hosts[0]!.ssh = { user: a.sshUser, privateKeyRef: a.keyRef };

    const used = new Set([30443, 30724, 30080]);
    const seenModels = new Set<string>();
    const models = a.models
      .map((m, i) => ({ ...m, name: `m${i}-${m.name}` }))
      .filter((m) => !seenModels.has(m.name) && seenModels.add(m.name))
      .map((m) => {
        const common = {
          name: m.name,
          environment: a.envs[m.env % a.envs.length],
          gpus: m.engine === 'vllm' ? Math.max(1, Math.min(m.gpus, a.gpuCount)) : Math.min(m.gpus, a.gpuCount),
          image: m.image,
          service: m.nodePort !== undefined && !used.has(m.nodePort) && used.add(m.nodePort) ? { nodePort: m.nodePort } : {},
        };
        return m.engine === 'ollama'
          ? { ...common, engine: 'ollama', model: m.model, modelFile: m.modelFile, keepAlive: m.keepAlive }
          : { ...common, engine: 'vllm', modelPath: m.modelPath, servedModelName: m.servedModelName, apiKeyRef: m.apiKeyRef, maxModelLen: m.maxModelLen };
      });
    const gpusByEnv = (e: string) => models.filter((m) => m.environment === e).reduce((n, m) => n + m.gpus, 0);

    return {
      apiVersion: 'airgap-k8s/v1alpha1',
      kind: 'Cluster',
      metadata: { name: a.name },
      spec: {
        hosts,
        controlPlane: a.ha
          ? {
              endpoint: { host: `10.${a.octet}.0.200`, port: a.lbPort },
              loadBalancer: { mode: 'keepalived-haproxy', virtualRouterId: a.vrid, authPassRef: a.passRef, unicast: a.unicast, notifyArping: a.notifyArping },
            }
          : {},
        network: { podSubnet: '172.16.0.0/16', hostSubnet: `10.${a.octet}.0.0/24`, dnsDomain: a.dnsDomain },
        containerRuntime: { containerd: { version: a.containerd } },
        offline: { bundleDir: a.bundleDir, registry: a.registry, registryCAFile: a.registryCAFile },
        addons: {
          cni: { calico: { mode: a.calicoMode, encapsulation: a.encapsulation, ipAutodetection: a.ipAutodetection } },
          dashboard: { kind: a.dashboardKind },
        },
        environments: a.envs.map((name) => ({ name, quota: { gpus: gpusByEnv(name) }, labels: a.envLabels })),
        models,
        apps: { dify: { enabled: a.dify, environment: a.envs[0], models: models.map((m) => m.name) } },
      },
    };
  });

/** The test inputs plus a (fixed, test-only) password and key for every reference the spec makes. */
function factsFor(spec: ClusterSpec): RenderInputs {
  const base = testInputs();
  const passwords = { ...base.secrets.passwords };
  for (const r of passwordRefs(spec)) passwords[r.ref] ??= r.kind === 'vrrp' ? 'fuzz-pw1' : 'fuzz-password-0123456789';
  const sshKeys = { ...base.secrets.sshKeys };
  for (const k of sshKeyRefs(spec)) sshKeys[k] ??= { path: `/nonexistent/${k}` };
  return { ...base, secrets: { ...base.secrets, passwords, sshKeys } };
}

/** Drop undefined values, as a YAML or JSON document would never hold them. */
const clean = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** The validated spec of a generated document (the first property proves they are all accepted). */
function accepted(doc: unknown): ClusterSpec {
  const r = parseSpec(clean(doc));
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return r.spec;
}

describe('specs built from arbitrary valid values', () => {
  it('are accepted (the generator above really builds valid specs)', () => {
    fc.assert(
      fc.property(validSpec, (doc) => {
        const r = parseSpec(clean(doc));
        expect(r.ok ? [] : r.issues).toEqual([]);
      }),
      runs(200),
    );
  }, 60_000);

  it('render without throwing; every file has the marker, one final newline, and YAML/TOML that parse', () => {
    fc.assert(
      fc.property(validSpec, (doc) => {
        const spec = accepted(doc);
        const marker = `# ${markerText(spec.metadata.name)}`;
        for (const f of renderCluster(spec, factsFor(spec))) {
          const p = outputPath(f);
          const ls = f.content.split('\n');
          expect(f.content.endsWith('\n') && !f.content.endsWith('\n\n'), p).toBe(true);
          expect(f.content, p).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
          if (f.kind === 'host' && f.path === '/etc/hostname') {
            // hostname(5) holds the name alone
            expect(f.content).toBe(`${f.host}\n`);
          } else if (ls[0] === HOSTS_BEGIN) {
            expect(ls[1], p).toBe(marker);
          } else {
            expect(ls[0]!.startsWith('#!') ? ls[1] : ls[0], p).toBe(marker);
          }
          if (/\.ya?ml$/.test(p)) expect(() => yaml.loadAll(f.content), p).not.toThrow();
          if (p.endsWith('.toml')) expect(() => parseToml(f.content), p).not.toThrow();
        }
      }),
      runs(30),
    );
  }, 60_000);

  it('render shell scripts that sh -n accepts', () => {
    fc.assert(
      fc.property(validSpec, (doc) => {
        const spec = accepted(doc);
        const scripts = [...new Set(renderCluster(spec, factsFor(spec)).filter((f) => f.content.startsWith('#!')).map((f) => f.content))];
        const bad = scripts.filter((s) => spawnSync('sh', ['-n'], { input: s }).status !== 0);
        expect(bad).toEqual([]);
      }),
      runs(10),
    );
  }, 60_000);
});
