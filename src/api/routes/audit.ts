// GET /audit: the audit trail, for admins (every mutating call and every secrets download, allowed or not).
import { createRoute } from '@hono/zod-openapi';
import { AuditList, AuditQuery } from '../schemas.js';
import { errorResponses, newApp, type AppDeps } from './common.js';

export function auditApp(d: AppDeps) {
  const app = newApp();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit',
      operationId: 'listAudit',
      tags: ['audit'],
      summary: 'The audit trail, oldest first',
      description: 'One entry per mutating call and per secrets download: time, token name and role, source address, method, path, cluster id, status, outcome. Never a secret.',
      request: { query: AuditQuery },
      responses: { 200: { description: 'entries', content: { 'application/json': { schema: AuditList } } }, ...errorResponses(400, 401, 403, 429) },
    }),
    (c) => {
      const q = c.req.valid('query');
      const after = Number(q.after ?? '0');
      const items = d.access.auditAfter(after, q.limit ? Number(q.limit) : 100);
      return c.json({ items, next: items.at(-1)?.seq ?? after }, 200);
    },
  );
  return app;
}
