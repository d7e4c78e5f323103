// The OpenAPI 3.1 document (generated from the routes' zod schemas plus the spec's JSON Schema) and a docs page
// rendered from it on the server: one self-contained HTML file, no scripts, no CDN (installations are offline).
// Saved with `curl -H 'Authorization: Bearer …' …/docs > api.html` it works anywhere.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { clusterJsonSchema } from '../spec/json-schema.js';
import { routeOf } from './access.js';

export const API_VERSION = '0.1.0';

export function registerComponents(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('schemas', 'Cluster', clusterJsonSchema() as never);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'AIRGAP_K8S_TOKEN' });
}

export function openApiDocument(app: OpenAPIHono): Record<string, unknown> {
  const doc = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'airgap-k8s',
      version: API_VERSION,
      description:
        'Installs offline Kubernetes v1.34 clusters from a cluster spec: POST /clusters starts an install, GET /clusters/{id}/events ' +
        'follows it. Every route but /healthz needs `Authorization: Bearer <token>` of a token whose role (viewer, operator, admin) ' +
        'allows it (x-required-role on each operation). Errors are {error: {code, message, issues?}}.',
    },
    security: [{ bearer: [] }],
  }) as unknown as Record<string, unknown>;
  // the role each operation needs, from the one table (src/api/access.ts), on the operation and in its text
  for (const [path, item] of Object.entries(obj(doc.paths))) {
    for (const [method, op] of Object.entries(obj(item))) {
      const route = routeOf(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
      if (!route) continue;
      const o = obj(op);
      o['x-required-role'] = route.need;
      o.description = `${route.need === 'public' ? 'No token needed.' : `Role: ${route.need} or above.`}${o.description ? ` ${String(o.description)}` : ''}`;
      if (route.need === 'public') o.security = [];
      // any call that needs a token can meet the failed-authentication limit
      const responses = obj(o.responses);
      if (responses['401'] && !responses['429']) {
        responses['429'] = { description: 'too many requests (failed authentications from this address, or installs being started): wait Retry-After seconds', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
    }
  }
  return doc;
}

const esc = (s: unknown) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

export function docsPage(doc: Record<string, unknown>): string {
  const info = obj(doc.info);
  const paths = obj(doc.paths);
  const schemas = obj(obj(doc.components).schemas);
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API ${esc(info.version)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:0}code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f6f8fa;padding:.6rem;overflow:auto;border-radius:4px}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.4rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.delete{color:#c30}table{border-collapse:collapse}td,th{padding:.15rem .6rem;text-align:left;vertical-align:top}
summary{cursor:pointer}nav a{margin-right:.8rem}
</style></head><body>`);
  out.push(`<h1>${esc(info.title)} API <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>`);
  out.push(`<p>Machine-readable: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI ${esc(doc.openapi)}).</p>`);
  const ops: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, opRaw] of Object.entries(obj(item))) {
      const op = obj(opRaw);
      const anchor = `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-');
      ops.push(`<a href="#${anchor}">${esc(method.toUpperCase())} ${esc(path)}</a>`);
      out.push(`<div class="op" id="${anchor}"><h3><span class="m ${esc(method)}">${esc(method)}</span><code>${esc(path)}</code></h3>`);
      if (op.summary) out.push(`<p><b>${esc(op.summary)}</b></p>`);
      if (op.description) out.push(`<p>${esc(op.description)}</p>`);
      const params = Array.isArray(op.parameters) ? (op.parameters as Obj[]) : [];
      if (params.length) {
        out.push('<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>');
        for (const p of params) {
          const s = obj(p.schema);
          const type = Array.isArray(s.enum) ? (s.enum as unknown[]).join(' | ') : String(s.type ?? '');
          out.push(`<tr><td><code>${esc(p.name)}</code>${p.required ? ' *' : ''}</td><td>${esc(p.in)}</td><td>${esc(type)}</td><td>${esc(p.description ?? s.description)}</td></tr>`);
        }
        out.push('</table>');
      }
      const body = obj(op.requestBody);
      if (body.content) out.push(`<p>Body (${esc(Object.keys(obj(body.content)).join(', '))}): ${esc(body.description)} — schema <a href="#schema-Cluster">Cluster</a></p>`);
      out.push('<table><tr><th>status</th><th>meaning</th><th>body</th></tr>');
      for (const [status, rRaw] of Object.entries(obj(op.responses))) {
        const r = obj(rRaw);
        const bodies = Object.entries(obj(r.content)).map(([type, m]) => {
          const ref = String(obj(obj(m).schema).$ref ?? '');
          const name = ref.split('/').pop();
          return name ? `${esc(type)} <a href="#schema-${esc(name)}">${esc(name)}</a>` : esc(type);
        });
        out.push(`<tr><td>${esc(status)}</td><td>${esc(r.description)}</td><td>${bodies.join('<br>')}</td></tr>`);
      }
      out.push('</table></div>');
    }
  }
  out.splice(3, 0, `<nav>${ops.join(' ')}</nav>`);
  out.push('<h2>Schemas</h2>');
  for (const [name, schema] of Object.entries(schemas)) {
    out.push(`<details id="schema-${esc(name)}"><summary><code>${esc(name)}</code></summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>`);
  }
  out.push('</body></html>\n');
  return out.join('\n');
}
