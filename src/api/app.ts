// createApp(deps): the REST service as a hono app, with no server and no globals, so tests drive it through
// app.request(). One sub-app per resource; the OpenAPI document is generated from their zod route definitions.
import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { auditTrail, authorize } from './auth.js';
import { docsPage, openApiDocument, registerComponents } from './docs.js';
import { ApiError, errorBody, errorResponse } from './errors.js';
import { clustersApp } from './routes/clusters.js';
import { operationsApp } from './routes/operations.js';
import { newApp, type AppDeps } from './routes/common.js';
import { healthApp } from './routes/health.js';
import { statelessApp } from './routes/stateless.js';
import { auditApp } from './routes/audit.js';
import { consoleApp } from './console.js';

export type { AppDeps };

/**
 * The REST service as a hono app over dependencies you made yourself (store, jobs, logger, token): every route,
 * authentication, roles, the audit trail and the OpenAPI document. Most callers want {@link openService}, which makes
 * the dependencies from settings.
 */
export function createApp(d: AppDeps): OpenAPIHono {
  const app = newApp();

  // one log line per request: method, path (no query), status, duration; never headers or bodies
  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    c.header('Cache-Control', c.res.headers.get('Cache-Control') ?? 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    // no page of the service runs a script or may be framed; /docs allows its own inline styles only, the console
    // (src/api/console.ts) scripts and styles from this origin only
    if (!c.res.headers.has('Content-Security-Policy')) c.header('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    d.log.info('request', { method: c.req.method, path: c.req.path.slice(0, 200), status: c.res.status, ms: Math.round((performance.now() - t0) * 10) / 10 });
  });
  app.use('*', auditTrail(d.access, d.log));
  app.use('*', authorize({ token: d.token, access: d.access, limiter: d.limiter }));

  app.route('/', healthApp(d));
  app.route('/clusters', clustersApp(d));
  app.route('/', statelessApp(d));
  app.route('/', auditApp(d));
  app.route('/', operationsApp(d));
  // the operator's web page: public static files that call the routes above with the token the operator pastes
  app.route('/', consoleApp(d.consoleDir));

  registerComponents(app);
  let doc: Record<string, unknown> | undefined;
  const document = () => (doc ??= openApiDocument(app));
  app.get('/openapi.json', (c) => c.json(document()));
  app.get('/docs', (c) => {
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    return c.html(docsPage(document()));
  });

  // a known path with another method is 405 with the methods it has (RFC 9110 15.5.6), not 404
  let table: { re: RegExp; method: string }[] | undefined;
  const allowed = (path: string) => {
    table ??= app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({ method: r.method, re: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`) }));
    const m = new Set(table.filter((t) => t.re.test(path)).map((t) => t.method));
    if (m.has('GET')) m.add('HEAD');
    return [...m].sort();
  };
  app.notFound((c) => {
    const allow = allowed(c.req.path);
    if (allow.length > 0) {
      c.header('Allow', allow.join(', '));
      return c.json(errorBody('method_not_allowed', `${c.req.method.slice(0, 20)} is not allowed on ${c.req.path.slice(0, 200)}; allowed: ${allow.join(', ')}`), 405);
    }
    return c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path.slice(0, 200)}`), 404);
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? 'too_large' : status === 401 ? 'unauthorized' : status < 500 ? 'bad_request' : 'internal';
      return c.json(errorBody(code, status < 500 ? err.message || 'bad request' : 'internal error'), status);
    }
    // details go to the log (redacted), never to the client
    d.log.error('internal', { method: c.req.method, path: c.req.path.slice(0, 200), error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    return c.json(errorBody('internal', 'internal error; see the server log'), 500);
  });
  return app;
}
