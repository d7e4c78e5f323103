// Example 3: the airgap-k8s REST service mounted inside another hono server that has its own authentication.
//
// Your server authenticates its users its own way (here: an API key per team, in X-Team-Key); requests under
// /airgap/ from an authenticated user are handed to the airgap-k8s app with a token of the role your server grants
// them (an operator token made with service.access). airgap-k8s keeps its own checks, audit trail and redaction.
//
//   node server.js         serves on 127.0.0.1:8090 (state in ./airgap-data), PORT and DATA_DIR to change
//
// Needs the optional dependencies: npm install better-sqlite3 hono @hono/node-server @hono/zod-openapi
import { Hono, type MiddlewareHandler } from 'hono';
import { serve } from '@hono/node-server';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openService, resolveConfig, type Service } from 'airgap-k8s/api';

/** Your own authentication: one key per team (from your secret store in real life). */
export function teamAuth(keys: ReadonlyMap<string, string>): MiddlewareHandler<{ Variables: { team: string } }> {
  return async (c, next) => {
    const team = keys.get(c.req.header('X-Team-Key') ?? '');
    if (!team) return c.json({ error: 'unknown team key' }, 401);
    c.set('team', team);
    await next();
  };
}

/** Your server, with the airgap-k8s service under /airgap/. */
export function createOuterApp(service: Service, keys: ReadonlyMap<string, string>): Hono<{ Variables: { team: string } }> {
  // the role this server grants its teams inside airgap-k8s: operators (start and follow installs)
  // (a token per start: its name in the audit trail says which run of your server acted)
  const operator = service.access.createToken(`outer-server-${randomBytes(4).toString('hex')}`, 'operator');
  const app = new Hono<{ Variables: { team: string } }>();
  app.get('/', (c) => c.text('your own server\n'));
  app.use('/airgap/*', teamAuth(keys));
  app.all('/airgap/*', (c) => {
    const url = new URL(c.req.url);
    url.pathname = url.pathname.slice('/airgap'.length);
    const headers = new Headers(c.req.raw.headers);
    headers.delete('X-Team-Key');
    headers.set('Authorization', `Bearer ${operator}`);
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : c.req.raw.body;
    return service.app.fetch(new Request(url, { method: c.req.method, headers, body, duplex: 'half' } as RequestInit));
  });
  return app;
}

/** The service with its settings from the same resolver `airgap-k8s serve` uses (flags here, defaults for the rest). */
export function openAirgapService(dataDir: string): Service {
  const r = resolveConfig({}, { 'data-dir': dataDir, executor: 'dry-run' }, process.cwd());
  if (!r.ok) throw new Error(r.errors.join('\n'));
  // the admin token stays inside this process: the outer server hands out operator tokens only
  return openService(r.config, { token: randomBytes(24).toString('hex') });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const service = openAirgapService(process.env.DATA_DIR ?? './airgap-data');
  await service.recover();
  const keys = new Map([[process.env.TEAM_KEY ?? 'change-me-team-key', 'platform']]);
  const server = serve({ fetch: createOuterApp(service, keys).fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 8090) });
  const stop = () => server.close(() => void service.close());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
