// POST /operations: a day-two operation (certificate renewal, reset, etcd snapshot and restore) on a cluster as its last successful install
// here left it, as a job like an install: it is a record under /clusters/{id} with its plan, events, cancel and
// resume. (Scaling, removals and upgrades are POST /clusters of the changed spec.)
import { createRoute, z } from '@hono/zod-openapi';
import { UnconfirmedError } from '../../install/index.js';
import { BusyError } from '../admission.js';
import { principalOf, requireRole } from '../auth.js';
import { ApiError } from '../errors.js';
import { NotInstalledError, OperationError, SecretsError } from '../jobs.js';
import { Accepted, ExecutorKind } from '../schemas.js';
import { DNS_LABEL } from '../../spec/schema.js';
import { ConflictError, type Operation } from '../store.js';
import { errorResponses, newApp, type AppDeps } from './common.js';

const common = {
  // the spec's own rule, as a pattern (every client counts it the same way)
  cluster: z.string().regex(DNS_LABEL.regex, DNS_LABEL.message).openapi({ description: 'the cluster (metadata.name) as its last successful install here left it', example: 'gpu-prod' }),
  executor: ExecutorKind.optional().openapi({ description: 'default: the executor of the cluster\'s last install' }),
};

/** One shape per operation, so an option of one is a schema error for another (purge is a reset option). */
export const OperationRequest = z
  .discriminatedUnion('operation', [
    z
      .object({
        ...common,
        operation: z.literal('certs-renew').openapi({ description: 'kubeadm certs renew all, one control plane at a time, static pods restarted in order' }),
      })
      .strict(),
    z
      .object({
        ...common,
        operation: z.literal('reset').openapi({ description: 'every host back to before the install (destructive: needs confirm, and the admin role)' }),
        purge: z.boolean().optional().openapi({ description: 'also remove the packages, images and bundle the install put on the hosts' }),
        confirm: z.boolean().optional().openapi({ description: 'true: the destructive steps may run; without it the request is refused with 409 unconfirmed, listing them' }),
      })
      .strict(),
    z
      .object({
        ...common,
        operation: z.literal('etcd-snapshot').openapi({ description: 'etcdctl snapshot save on a control plane, checked there with etcdutl and kept on the service (download: GET /clusters/{id}/snapshot)' }),
        host: z.string().regex(DNS_LABEL.regex, DNS_LABEL.message).optional().openapi({ description: 'the control plane whose etcd member is saved (default: the first)' }),
      })
      .strict(),
    z
      .object({
        ...common,
        operation: z.literal('etcd-restore').openapi({ description: 'the documented restore of a kubeadm HA cluster from a snapshot this service took (destructive: needs confirm, and the admin role)' }),
        snapshot: z.string().regex(/^[0-9a-z]{1,40}$/, 'must be the id of an etcd-snapshot operation').openapi({ description: 'the id of a succeeded etcd-snapshot operation of this cluster' }),
        confirm: z.boolean().optional().openapi({ description: 'true: the destructive steps may run (everything written after the snapshot is lost); without it 409 unconfirmed, listing them' }),
      })
      .strict(),
  ])
  .openapi('OperationRequest');

/** The operation a request asks for, as a job records it. */
function operationOf(b: z.infer<typeof OperationRequest>): Operation {
  switch (b.operation) {
    case 'reset':
      return { kind: 'reset', purge: b.purge ?? false };
    case 'etcd-snapshot':
      return { kind: 'etcd-snapshot', host: b.host ?? null };
    case 'etcd-restore':
      return { kind: 'etcd-restore', snapshot: b.snapshot };
    default:
      return { kind: b.operation };
  }
}

export function operationsApp(d: AppDeps) {
  const app = newApp();
  app.openapi(
    createRoute({
      method: 'post',
      path: '/operations',
      operationId: 'startOperation',
      tags: ['clusters'],
      summary: 'Start a day-two operation on an installed cluster',
      description:
        'Runs like an install and is followed the same way: GET /clusters/{id}/events, cancel, resume. The cluster is taken as its last ' +
        'successful real install on this service left it (404 not_installed otherwise). A reset and an etcd restore need confirm=true ' +
        '(409 unconfirmed lists every destructive step) and the admin role. An etcd snapshot is kept on the service (0600, beside the ' +
        'secrets): GET /clusters/{id}/snapshot downloads it, an etcd-restore names its id, DELETE /clusters/{id} removes it.',
      request: { body: { content: { 'application/json': { schema: OperationRequest } }, required: true } },
      responses: {
        202: { description: 'accepted; the operation runs in the background', content: { 'application/json': { schema: Accepted } } },
        ...errorResponses(400, 401, 403, 404, 409, 422, 429),
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      if (b.operation === 'reset') requireRole(c, 'admin', 'resetting a cluster');
      if (b.operation === 'etcd-restore') requireRole(c, 'admin', 'restoring etcd');
      const confirmed = (b.operation === 'reset' || b.operation === 'etcd-restore') && (b.confirm ?? false);
      let rec;
      try {
        rec = await d.jobs.createOperation({
          name: b.cluster, operation: operationOf(b), confirmed, ...(b.executor ? { executor: b.executor } : {}),
          ...(principalOf(c) ? { createdBy: principalOf(c)!.name } : {}),
        });
      } catch (e) {
        if (e instanceof NotInstalledError) throw new ApiError(404, 'not_installed', e.message);
        if (e instanceof OperationError) throw new ApiError(e.status, e.code, e.message, [{ path: e.path, code: e.code, message: e.message }]);
        if (e instanceof UnconfirmedError) {
          throw new ApiError(409, 'unconfirmed', `${e.steps.length} destructive steps; post again with "confirm": true; nothing was started`,
            e.steps.map((st) => ({ path: st.id, code: 'destructive', message: st.description })));
        }
        if (e instanceof ConflictError) throw new ApiError(409, 'conflict', `${e.message}; cancel it or wait for it to finish`);
        if (e instanceof BusyError) throw new ApiError(429, 'busy', e.message, undefined, { 'Retry-After': String(e.retryAfterSeconds) });
        if (e instanceof SecretsError) throw new ApiError(422, 'invalid_secrets', `${e.message} (server-side file for cluster "${b.cluster}")`, e.issues);
        throw e;
      }
      const location = `/clusters/${rec.id}`;
      c.header('Location', location);
      return c.json({ id: rec.id, name: rec.name, status: rec.status, executor: rec.executor, location, events: `${location}/events`, warnings: rec.warnings }, 202);
    },
  );
  return app;
}
