/**
 * `airgap-k8s/api` (experimental): the REST service as a hono app, to mount inside another hono or Node server.
 * `openService(settings, {token})` opens its SQLite state and returns `{app, recover, close, ...}`; `app.fetch` answers
 * requests. `createApp(deps)` is the app alone, for callers that build the dependencies themselves.
 *
 * Needs the optional dependencies better-sqlite3, hono, @hono/node-server and @hono/zod-openapi (install them beside
 * airgap-k8s); their types name better-sqlite3's, so type-checking against this module also wants
 * `@types/better-sqlite3` (or `skipLibCheck`).
 *
 * @experimental
 * @module api
 */
export { createApp, type AppDeps } from './app.js';
export { openService, type Service, type ServiceSettings } from './service.js';
export { startServer, type RunningServer } from './server.js';
export { resolveConfig, ENV_HELP, type ServiceConfig, type ServeFlags, type ConfigResult } from './config.js';
export { Store, ConflictError, type SqliteJournal, type ClusterRecord, type Operation, OPERATION_KINDS, type RunTotals, type StatusEvent, type JobStatus, JOB_STATUSES, type StepState, type ServiceEvent, type StoredEvent } from './store.js';
export { Jobs, SecretsError, type JobsOptions, type Listener } from './jobs.js';
export { BusyError, type AdmissionLimits, type Slot } from './admission.js';
export type { SpecCheck } from './work.js';
export { AccessStore, AuthFailureLimiter, ROLES, type Role, type TokenInfo, type AuditEntry, type Principal } from './access.js';
export { jsonLogger, silentLogger, type Logger, type LogFields } from './log.js';
