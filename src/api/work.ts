// The service's CPU-heavy work, as functions from plain data to plain data (structured-clone friendly both ways), so
// the worker pool (./pool.ts) runs them off the event loop: a request body parsed and validated, a job prepared (its
// spec parsed, the cluster's secrets loaded or its CA made, the bundle's inputs read, the files rendered, the plan
// made and stored as JSON with every secret masked), and the database's WAL checkpointed (its fsync waited for).
// The library functions they call stay as they are; what runs where is the service's concern.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseSpec } from '../spec/load.js';
import { deriveView, type ClusterView } from '../spec/derive.js';
import type { ClusterSpec } from '../spec/schema.js';
import type { SpecIssue } from '../spec/issues.js';
import type { Secrets } from '../secrets/types.js';
import { checkSecretsForSpec, completeSecrets, loadOrCreateSecretsAsync, parseSecrets } from '../secrets/secrets.js';
import { prepareInstall, type ExecutorKind, type Prepared } from '../install/index.js';
import { upgradePlan } from '../day2/upgrade.js';
import { certsRenewPlan } from '../day2/certs.js';
import { resetPlan } from '../day2/reset.js';
import { etcdRestorePlan, etcdSnapshotPlan } from '../day2/etcd.js';
import { localSha256 } from '../runner/actions.js';
import { Redactor, secretValues } from '../runner/redact.js';
import type { Plan } from '../plan/types.js';
import type { Operation } from './store.js';
import type Database from 'better-sqlite3';
import { requireForFeature } from '../optional.js';

/** The secrets file exists but cannot serve this spec; issues name secrets-file paths, never values. */
export class SecretsError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super('the cluster\'s secrets file cannot be used');
    this.name = 'SecretsError';
  }
}

/** An error as a job's record shows it: the message, and for a secrets file every issue's path. */
export function describeError(e: unknown): string {
  if (e instanceof SecretsError) return `${e.message}: ${e.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
  return e instanceof Error ? e.message : String(e);
}

/** The secrets file of cluster `name` in `dir`. */
export function secretsFileIn(dir: string, name: string): string {
  return join(dir, `${name}.secrets.yaml`);
}

/** A request body as `checkSpecBody` judged it: the spec, or what the answer must say (400 or 422). */
export type SpecCheck =
  | {
      ok: true;
      spec: ClusterSpec;
      /** the document as JSON text (YAML comments and formatting dropped): what is stored */
      documentJson: string;
      warnings: SpecIssue[];
      /** with `secretsDir`: why the cluster's existing secrets file cannot serve this spec (empty: it can, or there is none) */
      secretsIssues: SpecIssue[];
    }
  | { ok: false; status: 400 | 422; code: 'malformed_body' | 'invalid_spec'; message: string; issues?: SpecIssue[] };

/**
 * A spec sent as JSON or YAML text: parsed strictly (YAML through parseSpec's safe loader), validated with every issue.
 * Malformed syntax is 400, a well-formed document that is not a valid spec 422. With `secretsDir`, an existing secrets
 * file of the cluster is checked against the spec, read only (an install would complete it, never rewrite a value).
 */
export function checkSpecBody(i: { text: string; json: boolean; secretsDir?: string | undefined }): SpecCheck {
  let input: unknown = i.text;
  if (i.json) {
    try {
      input = JSON.parse(i.text);
    } catch (e) {
      // V8's message may quote the input; keep only where it failed
      const at = /position \d+(?: \(line \d+ column \d+\))?/.exec(e instanceof Error ? e.message : '')?.[0];
      return { ok: false, status: 400, code: 'malformed_body', message: `the body is not valid JSON${at ? ` (at ${at})` : ''}` };
    }
  }
  const r = parseSpec(input);
  if (!r.ok) {
    if (r.issues.every((x) => x.code === 'syntax' || x.code === 'document_count')) {
      return { ok: false, status: 400, code: 'malformed_body', message: r.issues.map((x) => x.message).join('; '), issues: r.issues };
    }
    return { ok: false, status: 422, code: 'invalid_spec', message: `the cluster spec has ${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}`, issues: r.issues };
  }
  // the document as parsed once (a second YAML parse cost a fifth of a validation), as text for the store: a string
  // crosses to the loop and on to the job thread without a structured clone of its object graph
  return { ok: true, spec: r.spec, documentJson: JSON.stringify(r.document), warnings: r.warnings, secretsIssues: i.secretsDir ? secretsFit(secretsFileIn(i.secretsDir, r.spec.metadata.name), r.spec) : [] };
}

/** Why an existing secrets file cannot serve `spec` once completed; nothing when it can or does not exist yet. */
function secretsFit(file: string, spec: ClusterSpec): SpecIssue[] {
  if (!existsSync(file)) return [];
  const parsed = parseSecrets(readFileSync(file, 'utf8'));
  if (!parsed.ok) return parsed.issues;
  return checkSecretsForSpec(completeSecrets(parsed.secrets, spec).secrets, spec);
}

/** What a job's start needs, gathered by the event loop from the store: all plain data. */
export interface PrepareTask {
  /** the spec, validated already; or `document`, a stored one to validate again, or the same as JSON text */
  spec?: ClusterSpec;
  document?: unknown;
  documentJson?: string;
  executor: ExecutorKind;
  /** the secrets to render with; or `secretsFile`, loaded, completed or made (with a new CA) */
  secrets?: Secrets;
  secretsFile?: string;
  /** the unpacked offline bundle on this machine; default the spec's offline.bundleDir */
  bundleDir?: string | undefined;
  /** day two: the stored spec of the cluster's last successful real install (the plan is then the change) */
  applied?: unknown;
  /** a day-two operation instead of an install, with the service's files it reads or writes */
  operation?: {
    op: Operation;
    /** etcd-snapshot: where the snapshot goes; etcd-restore: the snapshot to restore */
    snapshotFile?: string;
  };
}

/** A prepared job, and its plan as the store keeps it (JSON, every secret masked). */
export interface PreparedJob {
  prepared: Prepared;
  planJson: string;
}

/** A job's start: spec, secrets, bundle inputs, files and plan (an install's, its change, or an operation's). */
export async function prepareJob(t: PrepareTask): Promise<PreparedJob> {
  const spec = t.spec ?? storedSpec(t.documentJson === undefined ? t.document : JSON.parse(t.documentJson));
  const secrets = t.secrets ?? (await loadSecrets(t.secretsFile, spec));
  const view = deriveView(spec);
  const prepared = t.operation ? await prepareOperation(view, secrets, t, t.operation) : prepareChange(view, secrets, t);
  return { prepared, planJson: new Redactor(secretValues(secrets)).text(JSON.stringify(prepared.plan)) };
}

function storedSpec(document: unknown): ClusterSpec {
  const parsed = parseSpec(document);
  if (!parsed.ok) throw new Error(`the stored spec no longer validates: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  return parsed.spec;
}

async function loadSecrets(file: string | undefined, spec: ClusterSpec): Promise<Secrets> {
  if (!file) throw new Error('neither secrets nor a secrets file to prepare with');
  const r = await loadOrCreateSecretsAsync(file, spec);
  if (!r.ok) throw new SecretsError(r.issues);
  return r.secrets;
}

/** An install: the whole plan, or on a cluster installed before the change (or kubeadm's upgrade order). */
function prepareChange(view: ClusterView, secrets: Secrets, t: PrepareTask): Prepared {
  const request = { secrets, executor: t.executor, bundleDir: t.bundleDir };
  const parsedBefore = t.applied === undefined ? undefined : parseSpec(t.applied);
  // a last install whose spec no longer validates counts as none (a first install)
  const before = parsedBefore?.ok ? deriveView(parsedBefore.spec) : undefined;
  const applied = before ? { view: before, plan: prepareInstall({ view: before, ...request }).fullPlan } : undefined;
  if (applied && applied.view.kubernetesVersion !== view.kubernetesVersion) {
    // kubernetesVersion raised (and nothing else: checked when it was posted): kubeadm's upgrade order
    const p = prepareInstall({ view, ...request });
    return { ...p, plan: upgradePlan(applied, { view, plan: p.fullPlan }) };
  }
  return prepareInstall({ view, ...request, applied });
}

/** A day-two operation's plan on the cluster as its stored spec (the last install's) says; none reads the bundle. */
async function prepareOperation(view: ClusterView, secrets: Secrets, t: PrepareTask, o: NonNullable<PrepareTask['operation']>): Promise<Prepared> {
  const p = prepareInstall({ view, secrets, executor: t.executor, bundleDir: t.bundleDir });
  const op = o.op;
  let plan: Plan;
  if (op.kind === 'certs-renew') plan = certsRenewPlan(view);
  else if (op.kind === 'reset') plan = resetPlan(view, p.fullPlan, { purge: op.purge }).plan;
  else if (op.kind === 'etcd-snapshot') {
    const file = o.snapshotFile!;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    plan = etcdSnapshotPlan(view, file, view.controlPlanes.find((h) => h.name === op.host) ?? view.firstControlPlane);
  } else plan = etcdRestorePlan(view, o.snapshotFile!, await localSha256(o.snapshotFile!));
  return { ...p, plan, missing: [] };
}

const connections = new Map<string, Database.Database>();

/**
 * Copies the service database's write-ahead log into the database file (PASSIVE: never waits for the service's
 * writers, which go on meanwhile), on this thread's own connection; the fsync it ends with is waited for here, not on
 * the event loop. Returns how many WAL frames there were and how many are in the database file now.
 */
export function checkpointWal(i: { file: string }): { log: number; checkpointed: number } {
  let db = connections.get(i.file);
  if (!db) {
    const Sqlite = requireForFeature<typeof Database>('the REST service (airgap-k8s serve, airgap-k8s/api)', 'better-sqlite3');
    db = new Sqlite(i.file);
    db.pragma('busy_timeout = 5000');
    connections.set(i.file, db);
  }
  const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  return { log: r?.log ?? 0, checkpointed: r?.checkpointed ?? 0 };
}

/** What the worker pool runs, by name. */
export const TASKS = {
  checkSpecBody: async (i: Parameters<typeof checkSpecBody>[0]) => checkSpecBody(i),
  prepareJob,
  checkpointWal: async (i: Parameters<typeof checkpointWal>[0]) => checkpointWal(i),
} satisfies Record<string, (input: never) => Promise<unknown>>;
/** A task of {@link TASKS}. */
export type TaskName = keyof typeof TASKS;
