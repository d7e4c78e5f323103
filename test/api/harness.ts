// A service in-process for route tests: a temporary data directory, a real SQLite store, real jobs over the dry-run
// executor, the app driven through app.request() (no server, no port). Log lines are captured for scanning.
import type { ExecutorSettings } from '../../src/install/index.js';
import { AccessStore, AuthFailureLimiter } from '../../src/api/access.js';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/api/app.js';
import { Jobs, type JobsOptions } from '../../src/api/jobs.js';
import { jsonLogger } from '../../src/api/log.js';
import { Store, type ExecutorKind } from '../../src/api/store.js';
import { FIXTURES } from '../support/fixtures.js';

export const TOKEN = 'test-api-token-0123456789abcdef';
export const SECRETS_TOKEN = 'test-secrets-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TOKEN}` };
export const YAML = { ...AUTH, 'content-type': 'application/yaml' };
export const JSONH = { ...AUTH, 'content-type': 'application/json' };

export const HA_TEXT = readFileSync(join(FIXTURES, 'valid-runbook-ha.yaml'), 'utf8');

/** The HA fixture under another cluster name (metadata.name). */
export function specNamed(name: string, text = HA_TEXT): string {
  const out = text.replace(/^(metadata:\s*\n\s+name:\s*)\S+/m, `$1${name}`).replace(/^metadata: \{name: [^}]+\}/m, `metadata: {name: ${name}}`);
  if (!out.includes(name)) throw new Error('could not rename the fixture');
  return out;
}

export interface Harness {
  app: ReturnType<typeof createApp>;
  store: Store;
  /** issued tokens and the audit trail */
  access: AccessStore;
  jobs: Jobs;
  dir: string;
  secretsDir: string;
  logs: string[];
  /** app.request with the bearer token */
  req(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: string, type?: string): Promise<Response>;
  close(): Promise<void>;
}

export function harness(
  opts: { delayMs?: number; seedSecrets?: string[]; secretsToken?: boolean; defaultExecutor?: ExecutorKind; dir?: string; makeExecutor?: ExecutorSettings['make']; bundleDir?: string; limiter?: AuthFailureLimiter; consoleDir?: string; admission?: JobsOptions['admission'] } = {},
): Harness {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'api-'));
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  // TEST-ONLY secrets for the named clusters (the fixtures' values) instead of fresh ones
  for (const name of opts.seedSecrets ?? []) copyFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), join(secretsDir, `${name}.secrets.yaml`));
  // stand-ins for the console's built files (the console tier serves the real ones)
  const consoleDir = opts.consoleDir ?? join(dir, 'console');
  if (!opts.consoleDir) {
    mkdirSync(consoleDir, { recursive: true });
    writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>console</title><script type="module" src="/console/main.js"></script>\n');
    writeFileSync(join(consoleDir, 'main.js'), 'export {};\n');
    writeFileSync(join(consoleDir, 'console.css'), 'body {}\n');
  }
  const logs: string[] = [];
  const log = jsonLogger((l) => logs.push(l));
  const store = new Store(join(dir, 'airgap-k8s.db'));
  const access = new AccessStore(store.db);
  const jobs = new Jobs({ store, log, secretsDir, executors: { dryRunDelayMs: opts.delayMs ?? 0, ...(opts.makeExecutor ? { make: opts.makeExecutor } : {}) }, concurrency: 10, ...(opts.bundleDir ? { bundleDir: opts.bundleDir } : {}), ...(opts.admission ? { admission: opts.admission } : {}) });
  jobs.recovered = true;
  const app = createApp({
    store,
    jobs,
    log,
    token: TOKEN,
    access,
    limiter: opts.limiter ?? new AuthFailureLimiter(),
    ...(opts.secretsToken ? { secretsToken: SECRETS_TOKEN } : {}),
    defaultExecutor: opts.defaultExecutor ?? 'dry-run',
    heartbeatMs: 200,
    ready: () => jobs.recovered,
    consoleDir,
  });
  const req = async (path: string, init: RequestInit = {}) => app.request(path, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string>) } });
  return {
    app,
    store,
    access,
    jobs,
    dir,
    secretsDir,
    logs,
    req,
    post: (path, body, type = 'application/yaml') => req(path, { method: 'POST', body, headers: { 'content-type': type } }),
    async close() {
      await jobs.shutdown();
      store.close();
    },
  };
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: Record<string, unknown> & { seq: number; type: string };
}

/** Parse a complete SSE body (or a prefix of one) into events; comments and retry lines are skipped. */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    const ev: Partial<SseEvent> = {};
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) ev.id = line.slice(4);
      else if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (data) out.push({ ...ev, data: JSON.parse(data) as SseEvent['data'] });
  }
  return out;
}

/** Wait until cond() holds (polling), or fail after timeoutMs. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
