// The REST service without a listener: SQLite store, jobs, access control and the hono app, ready to be mounted in
// another server (examples/mount-rest-app) or served by startServer (./server.ts, `airgap-k8s serve`).
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { AccessStore, AuthFailureLimiter } from './access.js';
import { createApp } from './app.js';
import type { ServiceConfig } from './config.js';
import { Jobs } from './jobs.js';
import { jsonLogger, type Logger } from './log.js';
import { Store } from './store.js';

/** What {@link openService} needs of a {@link ServiceConfig}: everything but where and how to listen. */
export type ServiceSettings = Pick<
  ServiceConfig,
  'dataDir' | 'secretsDir' | 'secretsToken' | 'defaultExecutor' | 'dryRunDelayMs' | 'knownHostsFile' | 'bundleDir' | 'concurrency' | 'dbSync' | 'heartbeatMs' | 'authFailureLimit'
>;

/** An opened service: mount `app` (its `fetch` answers requests), call `recover()` once, `close()` at the end. */
export interface Service {
  /** the REST API as a hono app: `app.fetch(request)`, or `app.request(path, init)` in tests */
  app: OpenAPIHono;
  store: Store;
  jobs: Jobs;
  /** issued tokens (roles viewer, operator, admin) and the audit trail */
  access: AccessStore;
  /** picks up installs a previous process left running; returns how many resumed */
  recover(): Promise<number>;
  /** stops installs for a later resume and closes the database (the caller stops its own listener first) */
  close(): Promise<void>;
}

/**
 * Opens the service's state under `settings.dataDir` (created 0700; the database file 0600) and builds its app.
 * `token` is the admin bearer token the app accepts (at least 16 characters); more tokens, with roles, are made with
 * `service.access`. Needs the optional dependencies better-sqlite3, hono, @hono/node-server and @hono/zod-openapi.
 */
export function openService(settings: ServiceSettings, opts: { token: string; log?: Logger }): Service {
  if (opts.token.length < 16) throw new Error('the API token must have at least 16 characters');
  const log = opts.log ?? jsonLogger();
  log.addSecrets([opts.token, ...(settings.secretsToken ? [settings.secretsToken] : [])]);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(settings.dataDir, 0o700);
  const dbFile = join(settings.dataDir, 'airgap-k8s.db');
  // the WAL is copied into the database file by the jobs' worker pool, not in a commit on the event loop
  const store = new Store(dbFile, { sync: settings.dbSync, checkpoints: 'caller' });
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  const jobs = new Jobs({
    store,
    log,
    secretsDir: settings.secretsDir,
    executors: { dryRunDelayMs: settings.dryRunDelayMs, ...(settings.knownHostsFile ? { knownHostsFile: settings.knownHostsFile } : {}) },
    concurrency: settings.concurrency,
    ...(settings.bundleDir ? { bundleDir: settings.bundleDir } : {}),
  });
  const access = new AccessStore(store.db);
  const app = createApp({
    store,
    jobs,
    log,
    token: opts.token,
    access,
    limiter: new AuthFailureLimiter({ max: settings.authFailureLimit, windowMs: 60_000, blockMs: 60_000, maxAddresses: 10_000 }),
    ...(settings.secretsToken ? { secretsToken: settings.secretsToken } : {}),
    defaultExecutor: settings.defaultExecutor,
    heartbeatMs: settings.heartbeatMs,
    ready: () => jobs.recovered,
  });
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    jobs,
    access,
    recover: () => jobs.recover(),
    close: () =>
      (closing ??= (async () => {
        await jobs.shutdown();
        store.close();
      })()),
  };
}
