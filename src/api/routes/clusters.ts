// /clusters: installs as resources. POST validates and starts one; GET shows status, steps, plan, files and the
// live event stream; cancel, resume and delete act on it.
import { createRoute, z } from '@hono/zod-openapi';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { localSha256 } from '../../runner/actions.js';
import type { Context } from 'hono';
import { outputPath } from '../../generators/index.js';
import { readSecretsFile } from '../../secrets/secrets.js';
import { MissingInputsError, UnconfirmedError } from '../../install/index.js';
import { ChangeRefusedError } from '../../day2/change.js';
import { BusyError, type Slot } from '../admission.js';
import { parseSpec } from '../../spec/load.js';
import type { Plan } from '../../plan/types.js';
import type { PhaseName } from '../../plan/types.js';
import { auditThis, principalOf, requireRole, tokenEquals } from '../auth.js';
import { isTerminal } from '../model.js';
import { limitBody, readSpec } from '../body.js';
import { ApiError } from '../errors.js';
import { SecretsError } from '../jobs.js';
import { eventStream } from '../sse.js';
import { ConflictError, type ClusterRecord, type ExecutorKind, type Store } from '../store.js';
import { tarGz } from '../../bundle/io/tar.js';
import {
  Accepted,
  Cancelled,
  ClusterDetail,
  ClusterList,
  ClusterSummary,
  CreateQuery,
  EventList,
  SseEvent,
  EventsQuery,
  FilesQuery,
  IdParam,
  ListQuery,
  PlanSchema,
  StepView,
  truthy,
} from '../schemas.js';
import { errorResponses, newApp, specBody, type AppDeps } from './common.js';

/** At most this many events per JSON answer; ask again with ?after=<last seq> */
const EVENTS_PAGE = 10_000;

const tag = ['clusters'];

/** OpenAPI links: where an install's id comes from, the operations that take it (clients and fuzzers follow them). */
const linksFrom = (id: string) =>
  Object.fromEntries(
    ['getCluster', 'getPlan', 'getFiles', 'getEvents', 'cancelCluster', 'resumeCluster', 'deleteCluster'].map((op) => [
      op.replace(/^./, (c) => c.toUpperCase()),
      { operationId: op, parameters: { id }, description: `the install's id, for ${op}` },
    ]),
  );

export function summary(r: ClusterRecord): z.infer<typeof ClusterSummary> {
  const self = `/clusters/${r.id}`;
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    phase: r.phase as PhaseName | null,
    executor: r.executor,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    createdBy: r.createdBy,
    error: r.error,
    operation: r.operation?.kind ?? null,
    summary: r.summary,
    links: { self, events: `${self}/events`, plan: `${self}/plan`, files: `${self}/files` },
  };
}

function detail(store: Store, r: ClusterRecord): z.infer<typeof ClusterDetail> {
  const states = new Map(store.stepStates(r.id).map((s) => [s.stepId, s]));
  const text = store.plan(r.id);
  const plan = text ? (JSON.parse(text) as Plan) : { cluster: r.name, phases: [] };
  const progress = { total: 0, done: 0, skipped: 0, failed: 0, running: 0, pending: 0, interrupted: 0 };
  const steps = plan.phases.flatMap((p) =>
    p.steps.map((s): z.infer<typeof StepView> => {
      const st = states.get(s.id);
      const state = st?.state ?? 'pending';
      progress.total++;
      if (state === 'retrying') progress.running++;
      else progress[state]++;
      return {
        id: s.id,
        phase: s.phase,
        host: s.host,
        kind: s.kind,
        description: s.description,
        readOnly: !!s.readOnly,
        state,
        attempts: st?.attempts ?? 0,
        startedAt: st?.startedAt ?? null,
        finishedAt: st?.finishedAt ?? null,
        durationMs: st?.durationMs ?? null,
        changed: st?.changed ?? null,
        reason: st?.reason ?? null,
        error: st?.error ?? null,
      };
    }),
  );
  return { ...summary(r), warnings: r.warnings, runs: r.runs, progress, steps };
}

export function clustersApp(d: AppDeps) {
  const app = newApp();
  /** An audited read of secrets (secret files, an etcd snapshot): admins only, with the separate secrets token besides. */
  const secretsGate = (c: Context, r: ClusterRecord, what: string, asked: string) => {
    auditThis(c);
    requireRole(c, 'admin', `downloading ${what}`);
    const presented = c.req.header('x-secrets-token');
    if (!d.secretsToken) throw new ApiError(403, 'forbidden', `downloading ${what} is disabled on this server (no AIRGAP_K8S_SECRETS_TOKEN)`);
    if (!presented || !tokenEquals(presented, d.secretsToken)) throw new ApiError(403, 'forbidden', `${asked} needs the secrets token in X-Secrets-Token`);
    d.log.info('secrets-download', { id: r.id, cluster: r.name, what });
  };
  const find = (id: string) => {
    const r = d.store.get(id);
    if (!r) throw new ApiError(404, 'not_found', `no cluster install ${JSON.stringify(id.slice(0, 40))}`);
    return r;
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      operationId: 'createCluster',
      tags: tag,
      summary: 'Validate a cluster spec and start installing it',
      description:
        'The body is the cluster spec (JSON or YAML, at most 1 MiB). Every problem is reported at once (422). The install runs ' +
        'in the background: follow it with GET /clusters/{id}/events. A second install of a cluster (metadata.name) while ' +
        'one runs is refused (409). On a cluster installed here before, only the change since its last successful install runs ' +
        '(new hosts prepared and joined, hosts gone from the spec drained, reset and deleted: those need confirm=true, else 409 ' +
        'unconfirmed listing them); a change the running cluster cannot take (endpoint, subnets, a host\'s address or role, the ' +
        'version) is refused with 422 change_refused.',
      middleware: [limitBody] as const,
      request: { query: CreateQuery, body: specBody('the cluster spec') },
      responses: {
        202: { description: 'accepted; the install runs in the background', content: { 'application/json': { schema: Accepted } }, links: linksFrom('$response.body#/id') },
        ...errorResponses(400, 401, 409, 413, 415, 422, 429, 500),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const dryRun = q.dryRun === undefined ? undefined : truthy(q.dryRun);
      if (dryRun === true && q.executor && q.executor !== 'dry-run') {
        throw new ApiError(400, 'invalid_request', `dryRun=true contradicts executor=${q.executor}`);
      }
      const executor: ExecutorKind = dryRun ? 'dry-run' : (q.executor ?? (dryRun === false ? 'ssh' : d.defaultExecutor));
      let rec: ClusterRecord;
      let slot: Slot | undefined;
      let name = '';
      try {
        // a place first: when the service is full, a request costs nothing but its 429 (not even a validation)
        slot = d.jobs.reserve();
        const body = await readSpec(c, d.jobs, { secrets: true });
        name = body.spec.metadata.name;
        if (body.secretsIssues.length > 0) throw new SecretsError(body.secretsIssues);
        rec = await d.jobs.create({
          spec: body.spec, specJson: body.documentJson, warnings: body.warnings, executor, confirmed: truthy(q.confirm), slot,
          ...(principalOf(c) ? { createdBy: principalOf(c)!.name } : {}),
        });
      } catch (e) {
        slot?.release();
        if (e instanceof ChangeRefusedError) {
          throw new ApiError(422, 'change_refused', 'this change cannot be applied to the running cluster; nothing was started', e.problems.map((m) => ({ path: m.split(':')[0]!, code: 'change_refused', message: m })));
        }
        if (e instanceof UnconfirmedError) {
          throw new ApiError(409, 'unconfirmed', `${e.steps.length} destructive steps (hosts removed from the spec are drained, reset and deleted); post again with confirm=true; nothing was started`,
            e.steps.map((st) => ({ path: st.id, code: 'destructive', message: st.description })));
        }
        if (e instanceof ConflictError) throw new ApiError(409, 'conflict', `${e.message}; cancel it or wait for it to finish`);
        if (e instanceof BusyError) throw new ApiError(429, 'busy', e.message, undefined, { 'Retry-After': String(e.retryAfterSeconds) });
        if (e instanceof MissingInputsError) throw new ApiError(409, 'bundle_missing', `${e.message}; a dry run (dryRun=true) starts without it`, e.missing.map((path) => ({ path, code: 'missing', message: 'not on the server' })));
        if (e instanceof SecretsError) throw new ApiError(422, 'invalid_secrets', `${e.message} (server-side file for cluster "${name}")`, e.issues);
        throw e;
      }
      const location = `/clusters/${rec.id}`;
      c.header('Location', location);
      return c.json({ id: rec.id, name: rec.name, status: rec.status, executor: rec.executor, location, events: `${location}/events`, warnings: rec.warnings }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      operationId: 'listClusters',
      tags: tag,
      summary: 'List installs, newest first',
      request: { query: ListQuery },
      responses: { 200: { description: 'installs', content: { 'application/json': { schema: ClusterList } }, links: linksFrom('$response.body#/items/0/id') }, ...errorResponses(400, 401) },
    }),
    (c) => {
      const q = c.req.valid('query');
      const items = d.store.list({ ...(q.name ? { name: q.name } : {}), ...(q.status ? { status: q.status } : {}), limit: q.limit ? Number(q.limit) : 100 });
      return c.json({ items: items.map(summary) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getCluster',
      tags: tag,
      summary: 'Status, phase and every step with its state and timing',
      request: { params: IdParam },
      responses: { 200: { description: 'the install', content: { 'application/json': { schema: ClusterDetail } } }, ...errorResponses(401, 404) },
    }),
    (c) => c.json(detail(d.store, find(c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/plan',
      operationId: 'getPlan',
      tags: tag,
      summary: 'The install plan (phases of steps; files by path and sha256, never content)',
      request: { params: IdParam },
      responses: {
        200: { description: 'the plan', content: { 'application/json': { schema: PlanSchema } } },
        ...errorResponses(401, 404, 409),
      },
    }),
    (c) => {
      const r = find(c.req.valid('param').id);
      const plan = d.store.plan(r.id);
      if (!plan) throw new ApiError(409, 'not_ready', 'the plan is being made; try again shortly');
      return c.json(JSON.parse(plan) as z.infer<typeof PlanSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/files',
      operationId: 'getFiles',
      tags: tag,
      summary: 'The rendered files as a tar.gz',
      description:
        'Entries are <name>/hosts/<host>/<absolute path> and <name>/cluster/..., as `airgap-k8s render` writes them, with their modes and a ' +
        'fixed mtime (the same install gives the same bytes). Files holding secrets are left out (counted in X-Secret-Files-Excluded) ' +
        'unless includeSecrets=true AND the X-Secrets-Token header carries the server\'s separate secrets token.',
      request: {
        params: IdParam,
        query: FilesQuery,
        headers: z.object({ 'x-secrets-token': z.string().optional().openapi({ description: 'the secrets token (AIRGAP_K8S_SECRETS_TOKEN)' }) }),
      },
      responses: {
        200: {
          description: 'a gzip-compressed ustar archive',
          headers: { 'X-Secret-Files-Excluded': { schema: { type: 'integer' }, description: 'how many secret files were left out' } },
          content: { 'application/gzip': { schema: z.string().openapi({ format: 'binary' }) } },
        },
        ...errorResponses(400, 401, 403, 404, 409),
      },
    }),
    async (c) => {
      const r = find(c.req.valid('param').id);
      const wantSecrets = truthy(c.req.valid('query').includeSecrets);
      if (wantSecrets) secretsGate(c, r, 'secret files', 'includeSecrets=true');
      const parsed = parseSpec(d.store.spec(r.id));
      if (!parsed.ok) throw new ApiError(409, 'invalid_spec', 'the stored spec no longer validates with this version', parsed.issues);
      const file = d.jobs.secretsFile(r.name);
      if (!existsSync(file)) throw new ApiError(409, 'secrets_missing', `the secrets file of cluster "${r.name}" is gone; the files cannot be rendered as installed`);
      // a read never writes: the file as it is (not completed, as an install would), or 409 naming what it lacks
      const secrets = readSecretsFile(file, parsed.spec);
      if (!secrets.ok) throw new ApiError(409, 'invalid_secrets', 'the cluster\'s secrets file cannot be used as it is', secrets.issues);
      // the files as the install made them (with its executor's overlay, from this machine's bundle)
      const { files } = await d.jobs.prepare({ spec: parsed.spec, secrets: secrets.secrets, executor: r.executor });
      const included = files.filter((f) => wantSecrets || !f.secret);
      const archive = tarGz(
        included.map((f) => ({ path: `${r.name}/${outputPath(f)}`, content: f.content, mode: f.mode })),
        Math.floor(Date.parse(r.createdAt) / 1000),
      );
      return c.body(new Uint8Array(archive), 200, {
        'Content-Type': 'application/gzip',
        'Content-Disposition': `attachment; filename="${r.name}-${r.id}.tar.gz"`,
        'X-Secret-Files-Excluded': String(files.length - included.length),
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/snapshot',
      operationId: 'getSnapshot',
      tags: tag,
      summary: 'The etcd snapshot an etcd-snapshot operation took',
      description:
        'The snapshot holds every Secret of the cluster: admins only, with the server\'s separate secrets token in X-Secrets-Token ' +
        '(as for secret files). X-Content-SHA256 carries its sha256, checked when it was brought back from the control plane.',
      request: {
        params: IdParam,
        headers: z.object({ 'x-secrets-token': z.string().optional().openapi({ description: 'the secrets token (AIRGAP_K8S_SECRETS_TOKEN)' }) }),
      },
      responses: {
        200: {
          description: 'the snapshot (etcd\'s bbolt database file)',
          headers: { 'X-Content-SHA256': { schema: { type: 'string' }, description: 'hex sha256 of the file' } },
          content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
        },
        ...errorResponses(401, 403, 404, 409),
      },
    }),
    async (c) => {
      const r = find(c.req.valid('param').id);
      if (r.operation?.kind !== 'etcd-snapshot') throw new ApiError(404, 'not_found', `${r.id} is not an etcd-snapshot operation`);
      secretsGate(c, r, 'an etcd snapshot', 'the snapshot');
      const file = d.jobs.snapshotFile(r);
      if (r.status !== 'succeeded' || !existsSync(file)) throw new ApiError(409, 'not_ready', `the snapshot is ${r.status === 'succeeded' ? 'gone' : r.status}`);
      // streamed (a snapshot is as big as the cluster's etcd), its digest read first in a pass of its own
      const sha256 = await localSha256(file);
      return c.body(Readable.toWeb(createReadStream(file)) as ReadableStream, 200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(statSync(file).size),
        'Content-Disposition': `attachment; filename="${r.name}-etcd-${r.id}.db"`,
        'X-Content-SHA256': sha256,
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/events',
      operationId: 'getEvents',
      tags: tag,
      summary: 'Live progress as Server-Sent Events',
      description:
        'Replays every event after Last-Event-ID (or ?after=N), then streams new ones as they are committed; a comment line is sent as ' +
        'heartbeat. Each event has `id: <seq>`, `event: <type>` and JSON data with seq, at and the event\'s fields (run-started, ' +
        'phase-started, step-started, step-output, step-finished, step-skipped, step-failed, phase-finished, run-finished, status). ' +
        'The stream ends after a status event with a terminal status (succeeded, failed, cancelled).',
      request: {
        params: IdParam,
        query: EventsQuery,
        headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,12}$/, 'must be an event sequence number').optional().openapi({ description: 'resume after this event (its seq)' }) }),
      },
      responses: {
        200: {
          description:
            'text/event-stream (the default): per event the lines `id: <seq>`, `event: <type>` and `data: <one Event as JSON>`, then a ' +
            'blank line; `: keep-alive` comment lines as heartbeat; `retry: 2000` first. application/json (ask with Accept): the ' +
            'events stored so far after ?after=/Last-Event-ID, at once, each validated by the same Event schema.',
          content: {
            // each event of the stream, as SSE clients (and OpenAPI 3.2's itemSchema) see it: its id, name and data
            'text/event-stream': { schema: SseEvent },
            'application/json': { schema: EventList },
          },
        },
        ...errorResponses(400, 401, 404),
      },
    }),
    (c) => {
      const r = find(c.req.valid('param').id);
      const header = c.req.header('last-event-id');
      const raw = header ?? c.req.valid('query').after ?? '0';
      if (!/^\d{1,12}$/.test(raw)) throw new ApiError(400, 'invalid_request', 'Last-Event-ID must be an event sequence number');
      // a client that asks for JSON (and not for the stream) gets what is stored so far, at once
      const accept = (c.req.header('accept') ?? '').toLowerCase();
      if (accept.includes('application/json') && !accept.includes('text/event-stream')) {
        // the status first: when it was already terminal, every event (the terminal status among them) is stored
        const finished = isTerminal(d.store.get(r.id)?.status ?? 'pending');
        const events = d.store.eventsAfter(r.id, Number(raw), EVENTS_PAGE);
        return c.json({ events, done: finished && events.length < EVENTS_PAGE } as never, 200);
      }
      return c.body(eventStream(d.store, d.jobs, r.id, Number(raw), d.heartbeatMs), 200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/cancel',
      operationId: 'cancelCluster',
      tags: tag,
      summary: 'Cancel a pending or running install (the step in flight is stopped)',
      request: { params: IdParam },
      responses: {
        202: { description: 'cancellation requested; the final status event follows', content: { 'application/json': { schema: Cancelled } } },
        ...errorResponses(401, 404, 409),
      },
    }),
    (c) => {
      const id = c.req.valid('param').id;
      const r = d.jobs.cancel(id);
      if (r === 'not-found') find(id);
      if (r === 'not-active') throw new ApiError(409, 'not_running', `the install is ${find(id).status}`);
      return c.json({ id, status: find(id).status, cancel: 'requested' as const }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/resume',
      operationId: 'resumeCluster',
      tags: tag,
      summary: 'Run a failed or cancelled install again from its journal (finished steps are not repeated)',
      request: { params: IdParam },
      responses: {
        202: { description: 'resumed', content: { 'application/json': { schema: Accepted } } },
        ...errorResponses(401, 404, 409, 422, 429, 500),
      },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      let r;
      try {
        r = await d.jobs.resume(id);
      } catch (e) {
        if (e instanceof BusyError) throw new ApiError(429, 'busy', e.message, undefined, { 'Retry-After': String(e.retryAfterSeconds) });
        throw e;
      }
      if (!r.ok) {
        if (r.why === 'not-found') find(id);
        const rec = find(id);
        if (r.why === 'active') throw new ApiError(409, 'already_running', `the install is ${rec.status}`);
        if (r.why === 'finished') throw new ApiError(409, 'not_resumable', `the install is ${rec.status}; only failed or cancelled installs resume`);
        throw new ApiError(409, 'conflict', `cluster "${rec.name}" already has an install running`);
      }
      const location = `/clusters/${id}`;
      c.header('Location', location);
      const rec = r.record;
      return c.json({ id, name: rec.name, status: rec.status, executor: rec.executor, location, events: `${location}/events`, warnings: rec.warnings }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      operationId: 'deleteCluster',
      tags: tag,
      summary: 'Delete the record (events, journal, states); the hosts are not touched',
      description: 'Refused while the install is pending or running (cancel it first). The cluster\'s secrets file is kept: other installs of the same cluster use it. An etcd snapshot the job took is removed with it.',
      request: { params: IdParam },
      responses: { 204: { description: 'deleted' }, ...errorResponses(401, 404, 409) },
    }),
    (c) => {
      const id = c.req.valid('param').id;
      const rec = find(id);
      if (!d.store.delete(id)) throw new ApiError(409, 'running', `the install is ${rec.status}; cancel it first`);
      d.jobs.forgetFiles(rec);
      d.log.info('job', { id, cluster: rec.name, status: 'deleted' });
      return c.body(null, 204);
    },
  );

  return app;
}
