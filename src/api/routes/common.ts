// What every sub-app shares: its dependencies, how a failed parameter/query check becomes a 400 in the one error
// shape, and the documented error responses.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { formatPath } from '../../spec/issues.js';
import type { Jobs } from '../jobs.js';
import type { Logger } from '../log.js';
import { ErrorBody } from '../schemas.js';
import type { ExecutorKind, Store } from '../store.js';
import type { AccessStore, AuthFailureLimiter } from '../access.js';
import { ApiError } from '../errors.js';
import { JSON_TYPES, YAML_TYPES } from '../body.js';
import yaml from 'js-yaml';
import { exampleSpecText } from '../../spec/example.js';

const exampleSpecObject = () => yaml.load(exampleSpecText(), { schema: yaml.CORE_SCHEMA });

/** What {@link createApp} needs: the store, the jobs, the logger and the API token, with optional limits. */
export interface AppDeps {
  store: Store;
  jobs: Jobs;
  log: Logger;
  /** the configured API bearer token (role admin) */
  token: string;
  /** issued tokens and the audit trail */
  access: AccessStore;
  /** failed authentications per source address */
  limiter: AuthFailureLimiter;
  /** the separate token for secret file downloads; unset disables them */
  secretsToken?: string;
  defaultExecutor: ExecutorKind;
  heartbeatMs: number;
  /** readiness beyond the database answering (installs found at startup picked up) */
  ready(): boolean;
  /** where the console's built files are (default: this package's dist/console) */
  consoleDir?: string;
}

export function newApp() {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: formatPath([result.target, ...i.path]), code: i.code, message: i.message }));
        throw new ApiError(400, 'invalid_request', `invalid ${result.target}`, issues);
      }
      return undefined;
    },
  });
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'malformed request: bad JSON/YAML syntax, bad query parameter',
  401: 'missing, wrong or revoked bearer token',
  403: 'the token\'s role does not allow this (see x-required-role), or secret files without the secrets token',
  404: 'no such install',
  409: 'conflicts with the current state (an install of this cluster is running, ...)',
  413: 'body larger than 1 MiB',
  415: 'Content-Type is not application/json or application/yaml',
  429: 'too many requests: failed authentications from this address, or (code busy) the service is starting as many jobs as it will; wait Retry-After seconds',
  422: 'the spec (or the cluster\'s secrets file) is not valid: every issue with its path',
  500: 'internal error (no details are returned; see the server log)',
  503: 'not ready',
};

export function errorResponses<const S extends readonly (keyof typeof DESCRIPTIONS & number)[]>(...statuses: S) {
  return Object.fromEntries(statuses.map((s) => [s, { description: DESCRIPTIONS[s]!, content: { 'application/json': { schema: ErrorBody } } }])) as {
    [K in S[number]]: { description: string; content: { 'application/json': { schema: typeof ErrorBody } } };
  };
}

/** The spec as a request body: documented with the Cluster schema, read and validated by readSpec (not by zod here). */
export function specBody(description: string) {
  const ref = { $ref: '#/components/schemas/Cluster' };
  return {
    description,
    required: true,
    // the embedded example (the runbook's HA cluster): a request that is accepted, for readers and for clients that
    // try the documented examples first
    content: Object.fromEntries([...JSON_TYPES, ...YAML_TYPES].map((t) => [t, { schema: ref, example: JSON_TYPES.includes(t) ? exampleSpecObject() : exampleSpecText() }])),
  };
}

export { z };
