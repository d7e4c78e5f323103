// Offline, strict validation of Kubernetes objects against the OpenAPI v3 specs of k8s.io/kubernetes@v1.34.3
// (api/openapi-spec/v3/*.json, fetched from the Go module proxy by scripts/fetch-k8s-openapi.sh into a cache outside
// the work tree; never committed).
//
// Our own walker rather than a JSON-Schema engine: the Kubernetes specs need Kubernetes semantics that a generic
// validator does not give (strict unknown-field rejection everywhere except free-form objects and
// x-kubernetes-preserve-unknown-fields, int-or-string, Quantity syntax, list-map key uniqueness) and we want errors
// that name the object path (`spec.template.spec.containers[0].image`).
//
// Checked: apiVersion/kind known; every field known (unknown fields fail, as `kubectl apply --validate=strict`);
// required fields; JSON types, null only where nullable; int32/int64 ranges; int-or-string; Quantity syntax; base64
// for `format: byte`; RFC 3339 date-times; `enum` where the spec has one; x-kubernetes-list-type map/set uniqueness.
// The v1.34 v3 specs carry no `enum` keyword, so EXTRA_ENUMS restates, from the fields' own descriptions, the value
// sets the API server enforces for fields generators commonly get wrong; EXTRA_RULES adds two server-side rules
// (metadata.name or generateName; a Job's pods restart OnFailure or Never). Not checked: CEL rules, cross-field
// validation, defaulting, admission. Server-side validation against a real kube-apiserver is the toolchain tier's job.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './fixtures.js';

export const K8S_OPENAPI_VERSION = 'v1.34.3';

export interface SchemaIssue {
  path: string;
  message: string;
}

type Schema = {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
};

/** The cache directory scripts/fetch-k8s-openapi.sh fills (same rule as the script). */
export function openapiCacheDir(version = K8S_OPENAPI_VERSION): string {
  const cache = process.env.AIRGAP_K8S_CACHE || join(homedir(), '.cache', 'airgap-k8s');
  return join(cache, 'openapi', version);
}

/**
 * The OpenAPI directory, fetching it first when the cache lacks it (a few seconds over the Go module proxy; instant
 * when cached, so offline runs work once the cache is warm). Bounded by `timeoutMs`.
 */
export function ensureOpenapi(version = K8S_OPENAPI_VERSION, timeoutMs = 240_000): string {
  const dir = openapiCacheDir(version);
  if (existsSync(join(dir, '.complete'))) return dir;
  try {
    execFileSync('bash', [join(ROOT, 'scripts', 'fetch-k8s-openapi.sh'), version], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(
      `could not fetch the Kubernetes ${version} OpenAPI specs into ${dir} (scripts/fetch-k8s-openapi.sh needs the Go module proxy once): ` +
        `${err.stderr?.toString().trim() || err.message}`,
    );
  }
  return dir;
}

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;

/**
 * Value sets the API server enforces but the v1.34 OpenAPI v3 spec only states in prose. Keyed by schema name and
 * property; for list properties the set applies to each item. A test checks every entry names a real property.
 */
export const EXTRA_ENUMS: Record<string, Record<string, readonly string[]>> = {
  'io.k8s.api.core.v1.Container': { imagePullPolicy: ['Always', 'Never', 'IfNotPresent'] },
  'io.k8s.api.core.v1.PodSpec': { restartPolicy: ['Always', 'OnFailure', 'Never'], dnsPolicy: ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] },
  'io.k8s.api.core.v1.Toleration': { operator: ['Exists', 'Equal'], effect: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
  'io.k8s.api.core.v1.ContainerPort': { protocol: ['TCP', 'UDP', 'SCTP'] },
  'io.k8s.api.core.v1.ServicePort': { protocol: ['TCP', 'UDP', 'SCTP'] },
  'io.k8s.api.core.v1.ServiceSpec': {
    type: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'],
    externalTrafficPolicy: ['Cluster', 'Local'],
    internalTrafficPolicy: ['Cluster', 'Local'],
    sessionAffinity: ['ClientIP', 'None'],
  },
  'io.k8s.api.core.v1.HTTPGetAction': { scheme: ['HTTP', 'HTTPS'] },
  'io.k8s.api.core.v1.HostPathVolumeSource': { type: ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] },
  'io.k8s.api.core.v1.PersistentVolumeClaimSpec': { accessModes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'], volumeMode: ['Block', 'Filesystem'] },
  'io.k8s.api.core.v1.PersistentVolumeSpec': {
    accessModes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'],
    persistentVolumeReclaimPolicy: ['Retain', 'Delete', 'Recycle'],
    volumeMode: ['Block', 'Filesystem'],
  },
  'io.k8s.api.core.v1.LimitRangeItem': { type: ['Pod', 'Container', 'PersistentVolumeClaim'] },
  'io.k8s.api.core.v1.NodeSelectorRequirement': { operator: ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] },
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement': { operator: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
  'io.k8s.api.networking.v1.NetworkPolicySpec': { policyTypes: ['Ingress', 'Egress'] },
  'io.k8s.api.networking.v1.NetworkPolicyPort': { protocol: ['TCP', 'UDP', 'SCTP'] },
  'io.k8s.api.apps.v1.DeploymentStrategy': { type: ['Recreate', 'RollingUpdate'] },
  'io.k8s.api.apps.v1.DaemonSetUpdateStrategy': { type: ['RollingUpdate', 'OnDelete'] },
  'io.k8s.api.apps.v1.StatefulSetUpdateStrategy': { type: ['RollingUpdate', 'OnDelete'] },
  'io.k8s.api.rbac.v1.Subject': { kind: ['User', 'Group', 'ServiceAccount'] },
  'io.k8s.api.rbac.v1.RoleRef': { kind: ['Role', 'ClusterRole'] },
  'io.k8s.api.batch.v1.JobSpec': { completionMode: ['NonIndexed', 'Indexed'], podReplacementPolicy: ['TerminatingOrFailed', 'Failed'] },
};

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join2(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

export class K8sSchemas {
  private readonly schemas = new Map<string, Schema>();
  private readonly byGvk = new Map<string, string>();

  private constructor() {}

  /** Load every *_openapi.json of a directory (the same definition appears in many files; they agree). */
  static load(dir: string): K8sSchemas {
    const s = new K8sSchemas();
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    if (files.length === 0) throw new Error(`no OpenAPI files in ${dir}`);
    for (const f of files) {
      const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { components?: { schemas?: Record<string, Schema> } };
      for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
        if (!s.schemas.has(name)) s.schemas.set(name, schema);
        for (const g of schema['x-kubernetes-group-version-kind'] ?? []) {
          // Kinds shared by every group (DeleteOptions, WatchEvent) are not objects we apply; the first definition wins.
          const key = gvkKey(g.group, g.version, g.kind);
          if (!s.byGvk.has(key)) s.byGvk.set(key, name);
        }
      }
    }
    return s;
  }

  /** The schema name for an apiVersion/kind, if the API has it. */
  schemaName(apiVersion: string, kind: string): string | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return this.byGvk.get(gvkKey(group, version, kind));
  }

  schema(name: string): Schema | undefined {
    return this.schemas.get(name);
  }

  /** Validate one object (a parsed YAML document) strictly. Empty result = valid. */
  validate(obj: unknown): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    if (!isPlainObject(obj)) return [{ path: '', message: `a Kubernetes object must be a mapping, got ${typeOf(obj)}` }];
    const { apiVersion, kind } = obj;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') return [{ path: '', message: 'apiVersion and kind must be strings' }];
    const name = this.schemaName(apiVersion, kind);
    if (!name) return [{ path: 'kind', message: `no ${kind} in ${apiVersion} in the Kubernetes ${K8S_OPENAPI_VERSION} API` }];
    this.walk(obj, { $ref: `#/components/schemas/${name}` }, '', issues, name);
    // Server-side rules the schema does not express.
    const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
    if (typeof meta.name !== 'string' && typeof meta.generateName !== 'string') issues.push({ path: 'metadata.name', message: 'missing required field "name"' });
    if (name === 'io.k8s.api.batch.v1.Job' || name === 'io.k8s.api.batch.v1.CronJob') {
      const spec = name === 'io.k8s.api.batch.v1.Job' ? obj.spec : (obj.spec as { jobTemplate?: { spec?: unknown } } | undefined)?.jobTemplate?.spec;
      const rp = (spec as { template?: { spec?: { restartPolicy?: unknown } } } | undefined)?.template?.spec?.restartPolicy;
      if (rp !== 'OnFailure' && rp !== 'Never') {
        issues.push({ path: 'spec.template.spec.restartPolicy', message: `a Job's pods must restart OnFailure or Never, got ${JSON.stringify(rp)}` });
      }
    }
    return issues;
  }

  private resolve(ref: string): { schema: Schema; name: string } {
    const name = ref.replace(/^#\/components\/schemas\//, '');
    const schema = this.schemas.get(name);
    if (!schema) throw new Error(`OpenAPI: unresolved $ref ${ref}`);
    return { schema, name };
  }

  private walk(value: unknown, schemaIn: Schema, path: string, issues: SchemaIssue[], nameIn?: string): void {
    let schema = schemaIn;
    let name = nameIn;
    // Kubernetes writes references as {$ref} or {allOf: [{$ref}], default, description}.
    for (;;) {
      if (schema.$ref) {
        ({ schema, name } = this.resolve(schema.$ref));
        continue;
      }
      if (schema.allOf && schema.allOf.length === 1 && !schema.type && !schema.properties) {
        schema = schema.allOf[0]!;
        continue;
      }
      break;
    }
    if (schema.allOf) for (const s of schema.allOf) this.walk(value, s, path, issues);

    if (value === null) {
      if (!schema.nullable) issues.push({ path, message: 'null is not allowed here (omit the field instead)' });
      return;
    }
    if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.type) return;
    if (schema['x-kubernetes-int-or-string'] || schema.format === 'int-or-string') {
      if (typeof value === 'string' || Number.isInteger(value)) {
        if (Number.isInteger(value)) this.checkFormat(value, 'int32', path, issues);
        return;
      }
      issues.push({ path, message: `must be an integer or a string, got ${typeOf(value)}` });
      return;
    }
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
      if (typeof value === 'number' && Number.isFinite(value)) return;
      if (typeof value === 'string' && QUANTITY.test(value)) return;
      issues.push({ path, message: `must be a quantity such as 500m, 64Gi or 1, got ${JSON.stringify(value)}` });
      return;
    }
    if (schema.oneOf || schema.anyOf) {
      const alts = (schema.oneOf ?? schema.anyOf)!;
      if (!alts.some((alt) => this.matches(value, alt))) issues.push({ path, message: `must be one of ${alts.map((a) => a.type ?? '?').join(' | ')}, got ${typeOf(value)}` });
      return;
    }
    if (schema.enum && !schema.enum.includes(value)) {
      issues.push({ path, message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}` });
    }

    const t = schema.type;
    if (t === undefined) {
      if (schema.properties || schema.additionalProperties !== undefined) this.walkObject(value, schema, path, issues, name);
      return; // no type: anything (e.g. apiextensions JSON)
    }
    const actual = typeOf(value);
    const ok = t === actual || (t === 'number' && actual === 'integer');
    if (!ok) {
      issues.push({ path, message: `must be ${t === 'integer' ? 'an integer' : `a${/^[aeiou]/.test(t) ? 'n' : ''} ${t}`}, got ${actual}${actual === 'string' || actual === 'integer' || actual === 'number' ? ` ${JSON.stringify(value)}` : ''}` });
      return;
    }
    if (schema.format) this.checkFormat(value, schema.format, path, issues);
    if (t === 'object') this.walkObject(value, schema, path, issues, name);
    else if (t === 'array') this.walkArray(value as unknown[], schema, path, issues, name);
  }

  private matches(value: unknown, alt: Schema): boolean {
    const actual = typeOf(value);
    return alt.type === actual || (alt.type === 'number' && actual === 'integer');
  }

  private checkFormat(value: unknown, format: string, path: string, issues: SchemaIssue[]): void {
    if (format === 'int32' && typeof value === 'number' && (value < INT32[0] || value > INT32[1])) issues.push({ path, message: `must fit in int32, got ${value}` });
    else if (format === 'int64' && typeof value === 'number' && !Number.isSafeInteger(value)) issues.push({ path, message: `must be a safe int64, got ${value}` });
    else if (format === 'byte' && typeof value === 'string' && !BASE64.test(value)) issues.push({ path, message: 'must be base64 (format byte)' });
    else if (format === 'date-time' && typeof value === 'string' && !DATE_TIME.test(value)) issues.push({ path, message: `must be an RFC 3339 date-time, got ${JSON.stringify(value)}` });
  }

  private walkObject(value: unknown, schema: Schema, path: string, issues: SchemaIssue[], name?: string): void {
    if (!isPlainObject(value)) {
      issues.push({ path, message: `must be an object, got ${typeOf(value)}` });
      return;
    }
    const props = schema.properties;
    const extra = schema.additionalProperties;
    const freeForm = !props && extra === undefined; // e.g. RawExtension: {type: object}
    const enums = name ? EXTRA_ENUMS[name] : undefined;
    for (const [k, v] of Object.entries(value)) {
      const p = join2(path, k);
      const ps = props?.[k];
      if (ps) {
        this.walk(v, ps, p, issues);
        const allowed = enums?.[k];
        if (allowed) {
          for (const [i, x] of (Array.isArray(v) ? v.map((x, i) => [i, x] as const) : [[-1, v] as const])) {
            if (typeof x === 'string' && !allowed.includes(x)) {
              issues.push({ path: i < 0 ? p : `${p}[${i}]`, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(x)}` });
            }
          }
        }
      } else if (typeof extra === 'object') this.walk(v, extra, p, issues);
      else if (extra === true || freeForm || schema['x-kubernetes-preserve-unknown-fields']) continue;
      else issues.push({ path: p, message: `unknown field "${k}"` });
    }
    for (const r of schema.required ?? []) {
      if (value[r] === undefined) issues.push({ path: join2(path, r), message: `missing required field "${r}"` });
    }
  }

  private walkArray(value: unknown[], schema: Schema, path: string, issues: SchemaIssue[], _name?: string): void {
    const item = schema.items;
    value.forEach((v, i) => {
      if (item) this.walk(v, item, `${path}[${i}]`, issues);
    });
    const lt = schema['x-kubernetes-list-type'];
    if (lt === 'set') {
      const seen = new Set<string>();
      value.forEach((v, i) => {
        const key = JSON.stringify(v);
        if (seen.has(key)) issues.push({ path: `${path}[${i}]`, message: `duplicate entry ${key} in a set` });
        seen.add(key);
      });
    } else if (lt === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const itemSchema = item ? this.deref(item) : undefined;
      const seen = new Set<string>();
      value.forEach((v, i) => {
        if (!isPlainObject(v)) return;
        // A missing key takes the item schema's default (ContainerPort.protocol defaults to TCP).
        const tuple = keys.map((k) => v[k] ?? itemSchema?.properties?.[k]?.default ?? null);
        const key = JSON.stringify(tuple);
        if (seen.has(key)) issues.push({ path: `${path}[${i}]`, message: `duplicate entry for key (${keys.join(', ')}) = ${key.slice(1, -1)}` });
        seen.add(key);
      });
    }
  }

  private deref(s: Schema): Schema {
    let cur = s;
    for (;;) {
      if (cur.$ref) cur = this.resolve(cur.$ref).schema;
      else if (cur.allOf && cur.allOf.length === 1 && !cur.type && !cur.properties) cur = cur.allOf[0]!;
      else return cur;
    }
  }
}

let cached: K8sSchemas | undefined;
/** The v1.34.3 schemas, fetched into the cache if needed, loaded once per process. */
export function k8sSchemas(): K8sSchemas {
  if (!cached) cached = K8sSchemas.load(ensureOpenapi());
  return cached;
}
