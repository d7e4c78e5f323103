// zod schemas of what the API accepts and answers: the handlers' types and /openapi.json come from these (and the
// cluster spec's own schema, registered as the `Cluster` component from src/spec/json-schema.ts).
import { z } from '@hono/zod-openapi';
import { PHASES } from '../plan/types.js';
import { DnsLabel } from '../spec/schema.js';
import { EXECUTOR_KINDS, JOB_STATUSES } from './store.js';

export const Issue = z
  .object({
    path: z.string().openapi({ description: 'dotted path into the document, e.g. spec.hosts[1].address; empty for the whole document', example: 'spec.hosts[1].address' }),
    code: z.string().openapi({ example: 'invalid_format' }),
    message: z.string().openapi({ example: 'must be an IPv4 address' }),
  })
  .openapi('Issue');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ description: 'stable machine-readable code', example: 'invalid_spec' }),
      message: z.string(),
      issues: z.array(Issue).optional().openapi({ description: 'every problem found, each with its path (422)' }),
    }),
  })
  .openapi('Error');

export const JobStatus = z.enum(JOB_STATUSES).openapi('JobStatus', {
  description: 'pending (accepted, preparing) -> running -> succeeded | failed | cancelled; failed and cancelled can be resumed',
});
export const ExecutorKind = z.enum(EXECUTOR_KINDS).openapi('ExecutorKind', {
  description:
    'dry-run records every command and touches nothing; ssh runs the plan on the spec\'s hosts; kind runs it in the hosts\' node containers (docker exec into the container labelled airgap-k8s.node.host=<host> that holds the host\'s address)',
});

const Totals = z.object({ changed: z.number().int(), skipped: z.number().int(), failed: z.number().int(), durationMs: z.number() }).openapi('RunTotals');

export const ClusterSummary = z
  .object({
    id: z.string().openapi({ example: '01jf3m5d2e8k7q9w4r6t8y0u2i' }),
    name: z.string().openapi({ description: 'metadata.name of the spec', example: 'gpu-prod' }),
    status: JobStatus,
    phase: z.enum(PHASES).nullable().openapi({ description: 'the phase running now, or the last one that ran' }),
    executor: ExecutorKind,
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    createdBy: z.string().nullable().openapi({ description: 'the name of the token that started it (`admin` for the configured token; never the token itself); null for installs recorded before this was kept', example: 'ops-desk' }),
    error: z.string().nullable().openapi({ description: 'why it failed (redacted)' }),
    operation: z.string().nullable().openapi({ description: 'the day-two operation this job runs (POST /operations: certs-renew, reset), or null for an install of the spec', example: null }),
    summary: Totals.nullable(),
    links: z.object({ self: z.string(), events: z.string(), plan: z.string(), files: z.string() }),
  })
  .openapi('ClusterSummary');

export const StepView = z
  .object({
    id: z.string(),
    phase: z.enum(PHASES),
    host: z.string().nullable().openapi({ description: 'null for cluster steps (run on the first control plane)' }),
    kind: z.string(),
    description: z.string(),
    readOnly: z.boolean().openapi({ description: 'a check that runs on every install and changes nothing' }),
    state: z.enum(['pending', 'running', 'retrying', 'done', 'skipped', 'failed', 'interrupted']).openapi({
      description: 'interrupted: in flight when the install was cancelled or the service stopped; it did not fail on its own and a resume runs it again',
    }),
    attempts: z.number().int(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    changed: z.boolean().nullable(),
    reason: z.string().nullable().openapi({ description: 'why it was skipped: journal (done in an earlier run), probe (already so on the host), no-change, no-bundle (a dry run without the offline bundle)' }),
    error: z.string().nullable(),
  })
  .openapi('StepState');

export const ClusterDetail = ClusterSummary.extend({
  warnings: z.array(Issue),
  runs: z.number().int().openapi({ description: 'how many times the install was started (resumes included)' }),
  progress: z.object({
    total: z.number().int(),
    done: z.number().int(),
    skipped: z.number().int(),
    failed: z.number().int(),
    running: z.number().int(),
    pending: z.number().int(),
    interrupted: z.number().int().openapi({ description: 'steps a cancel or a stop cut short: not finished, not failed; a resume runs them again' }),
  }),
  steps: z.array(StepView),
}).openapi('ClusterDetail');

export const ClusterList = z.object({ items: z.array(ClusterSummary) }).openapi('ClusterList');

export const Accepted = z
  .object({
    id: z.string(),
    name: z.string(),
    status: JobStatus,
    executor: ExecutorKind,
    location: z.string().openapi({ example: '/clusters/01jf3m5d2e8k7q9w4r6t8y0u2i' }),
    events: z.string().openapi({ example: '/clusters/01jf3m5d2e8k7q9w4r6t8y0u2i/events' }),
    warnings: z.array(Issue),
  })
  .openapi('Accepted');

export const PlanSchema = z
  .object({
    cluster: z.string(),
    overlay: z
      .object({ name: z.string(), summary: z.string(), settings: z.array(z.object({ target: z.string(), setting: z.string(), why: z.string() })) })
      .optional()
      .openapi({ description: 'settings applied on top of what real hosts get (container nodes of a rehearsal); absent for real hosts' }),
    phases: z.array(
      z.object({
        name: z.enum(PHASES),
        serial: z.boolean(),
        steps: z.array(
          z
            .object({ id: z.string(), phase: z.enum(PHASES), host: z.string().nullable(), kind: z.string(), description: z.string() })
            .catchall(z.unknown())
            .openapi({ description: 'a step: files by output path and sha256 (never content), commands as argv, probes, retries' }),
        ),
      }),
    ),
  })
  .openapi('Plan');

export const RenderedFile = z
  .object({
    path: z.string().openapi({ description: 'output path: hosts/<host>/<absolute path> or a cluster file', example: 'hosts/master1/etc/haproxy/haproxy.cfg' }),
    host: z.string().nullable(),
    mode: z.number().int().openapi({ description: 'POSIX mode (decimal)', example: 420 }),
    secret: z.boolean(),
    sha256: z.string().nullable().openapi({ description: 'null for secret files' }),
    bytes: z.number().int(),
    content: z.string().nullable().openapi({ description: 'null for secret files: they are never returned' }),
  })
  .openapi('RenderedFile');

export const RenderResult = z
  .object({
    cluster: z.string(),
    warnings: z.array(Issue),
    note: z.string(),
    files: z.array(RenderedFile),
  })
  .openapi('RenderResult');

export const ValidateResult = z
  .object({ ok: z.literal(true), cluster: z.string(), hosts: z.number().int(), warnings: z.array(Issue) })
  .openapi('ValidateResult');

export const Cancelled = z.object({ id: z.string(), status: JobStatus, cancel: z.literal('requested') }).openapi('CancelRequested');

const TrueFalse = z.enum(['true', 'false', '1', '0']);
export const truthy = (v: string | undefined) => v === 'true' || v === '1';

export const IdParam = z.object({
  id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: '01jf3m5d2e8k7q9w4r6t8y0u2i' }),
});

export const CreateQuery = z.object({
  dryRun: TrueFalse.optional().openapi({ description: 'true: run with the dry-run executor (same as executor=dry-run)' }),
  executor: ExecutorKind.optional().openapi({ description: 'default: the server\'s (AIRGAP_K8S_EXECUTOR, ssh unless set)' }),
  confirm: TrueFalse.optional().openapi({
    description:
      'true: the destructive steps of this apply may run (hosts gone from the spec since the last successful install of this ' +
      'cluster are drained, reset and deleted). Without it such a request is refused with 409 unconfirmed, listing them.',
  }),
});

export const ListQuery = z.object({
  // a cluster name is an RFC 1123 label; as a pattern (not a length) so every client counts it the same way (JS
  // counts UTF-16 units, Python code points: a name of 40 emoji was 40 to one and 80 to the other)
  name: DnsLabel.optional().openapi({ description: 'only installs of this cluster (metadata.name, an RFC 1123 label)' }),
  status: JobStatus.optional(),
  limit: z
    .string()
    .regex(/^(?:[1-9]\d{0,2}|1000)$/, 'must be an integer 1-1000')
    .optional()
    .openapi({ description: 'newest first; default 100, at most 1000' }),
});

export const FilesQuery = z.object({
  includeSecrets: TrueFalse.optional().openapi({
    description: 'include files holding secrets (0600 in the archive): needs the admin role and the X-Secrets-Token header with the separate secrets token; audited',
  }),
});

export const EventsQuery = z.object({
  after: z.string().regex(/^\d{1,12}$/, 'must be a sequence number').optional().openapi({ description: 'replay events after this sequence number (like the Last-Event-ID header)' }),
});

// ---- events: one schema per type, the SSE stream's `data` and the JSON list's items ----
const evBase = { seq: z.number().int().min(1).openapi({ description: 'per install, gap-free; the SSE `id`' }), at: z.string().openapi({ description: 'ISO 8601 time it was committed' }) };
const stepBase = { stepId: z.string(), host: z.string() };
const ev = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.object({ type: z.literal(type), ...evBase, ...shape });
const RunTotalsSchema = z.object({ changed: z.number().int(), skipped: z.number().int(), failed: z.number().int(), durationMs: z.number() });

/** Every event an install emits, by `type` (the SSE `event:` name). Kept in step with RunEvent and StatusEvent. */
export const EventSchema = z
  .discriminatedUnion('type', [
    ev('run-started', { cluster: z.string(), phases: z.number().int(), steps: z.number().int() }),
    ev('phase-started', { phase: z.string(), index: z.number().int(), steps: z.number().int() }),
    ev('phase-finished', { phase: z.string(), index: z.number().int(), ok: z.boolean(), durationMs: z.number() }),
    ev('step-started', { ...stepBase, kind: z.string(), description: z.string(), attempt: z.number().int() }),
    ev('step-output', { ...stepBase, text: z.string() }),
    ev('step-progress', { ...stepBase, bytes: z.number(), total: z.number(), path: z.string() }),
    ev('step-finished', { ...stepBase, changed: z.boolean(), durationMs: z.number() }),
    ev('step-skipped', { ...stepBase, reason: z.enum(['journal', 'probe', 'no-change', 'no-bundle']) }),
    ev('step-failed', {
      ...stepBase,
      error: z.string(),
      command: z.string().optional().openapi({ description: 'the whole command that failed (the error names only its start)' }),
      attempt: z.number().int(),
      willRetry: z.boolean(),
      durationMs: z.number(),
      interrupted: z.literal(true).optional().openapi({ description: 'the install was stopping (cancel, service stop) when the step ended: interrupted, not failed on its own; a resume runs it again' }),
    }),
    ev('run-finished', { ok: z.boolean(), cancelled: z.boolean(), changed: z.number().int(), skipped: z.number().int(), failed: z.number().int(), durationMs: z.number() }),
    ev('status', { status: JobStatus, reason: z.string().optional(), summary: RunTotalsSchema.optional() }),
  ])
  .openapi('Event', { description: 'one event of an install: the SSE `data:` line (JSON), whose `type` is the SSE `event:` name and `seq` its `id:`' });

export const EventList = z
  .object({
    events: z.array(EventSchema),
    done: z.boolean().openapi({ description: 'true when the last event is a terminal status: no more will come' }),
  })
  .openapi('EventList');

/** One Server-Sent Event of GET /clusters/{id}/events: `id: <seq>`, `event: <type>`, `data: <one Event as JSON>`. */
export const SseEvent = z
  .object({
    id: z.string().regex(/^\d+$/).openapi({ description: "the event's seq (send it back as Last-Event-ID to resume)" }),
    event: z.enum(EventSchema.options.map((o) => o.shape.type.value) as [string, ...string[]]).openapi({ description: "the event's type" }),
    data: z.string().openapi({ description: 'one Event (#/components/schemas/Event) as JSON', contentMediaType: 'application/json', contentSchema: { $ref: '#/components/schemas/Event' } } as never),
  })
  .openapi('SseEvent', { description: 'a stream of these, blank-line separated; `: keep-alive` comment lines between them; `retry: 2000` first' });

// ---- the audit trail (GET /audit, admins) ----
export const AuditQuery = z.object({
  after: z.string().regex(/^\d{1,12}$/, 'must be a sequence number').optional().openapi({ description: 'entries after this sequence number' }),
  limit: z
    .string()
    .regex(/^(?:[1-9]\d{0,2}|1000)$/, 'must be an integer 1-1000')
    .optional()
    .openapi({ description: 'oldest first; default 100, at most 1000' }),
});

export const AuditEntrySchema = z
  .object({
    seq: z.number().int().min(1),
    at: z.string().openapi({ description: 'ISO 8601 time of the answer' }),
    token: z.string().nullable().openapi({ description: 'the token\'s name (never the token); null when none valid was presented' }),
    role: z.enum(['viewer', 'operator', 'admin']).nullable(),
    source: z.string().openapi({ description: 'the peer address' }),
    method: z.string(),
    path: z.string().openapi({ description: 'without the query' }),
    clusterId: z.string().nullable(),
    status: z.number().int(),
    outcome: z.enum(['ok', 'denied', 'failed']),
  })
  .openapi('AuditEntry');

export const AuditList = z.object({ items: z.array(AuditEntrySchema), next: z.number().int().openapi({ description: 'pass as ?after= for the next page' }) }).openapi('AuditList');
