// Liveness (no auth: load balancers and process supervisors poll it) and readiness (auth like everything else).
import { createRoute, z } from '@hono/zod-openapi';
import { ApiError } from '../errors.js';
import { errorResponses, newApp, type AppDeps } from './common.js';

export function healthApp(d: AppDeps) {
  const app = newApp();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['health'],
      summary: 'Liveness: the process answers (no authentication)',
      security: [],
      responses: { 200: { description: 'alive', content: { 'application/json': { schema: z.object({ ok: z.literal(true) }) } } } },
    }),
    (c) => c.json({ ok: true as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['health'],
      summary: 'Readiness: the database answers and interrupted installs were picked up',
      responses: {
        200: { description: 'ready', content: { 'application/json': { schema: z.object({ ready: z.literal(true), running: z.number().int() }) } } },
        ...errorResponses(401, 503),
      },
    }),
    (c) => {
      let db = false;
      try {
        db = d.store.ping();
      } catch {
        db = false;
      }
      if (!db) throw new ApiError(503, 'not_ready', 'the database does not answer');
      if (!d.ready()) throw new ApiError(503, 'not_ready', 'picking up interrupted installs');
      return c.json({ ready: true as const, running: d.store.active().length }, 200);
    },
  );
  return app;
}
