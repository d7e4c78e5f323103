// Reading a cluster spec from a request body: content type checked (415), size bounded (413, by the bodyLimit
// middleware in front of every route that reads one), then in the worker pool (./work.ts checkSpecBody) JSON parsed
// strictly or YAML through parseSpec's safe loader (aliases, depth and size refused). Malformed syntax is 400; a
// well-formed document that is not a valid spec is 422 with every issue and its path.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_SPEC_BYTES } from '../spec/load.js';
import type { Jobs } from './jobs.js';
import type { SpecIssue } from '../spec/issues.js';
import type { ClusterSpec } from '../spec/schema.js';
import { ApiError, errorBody } from './errors.js';

export const MAX_BODY_BYTES = MAX_SPEC_BYTES;
export const JSON_TYPES = ['application/json'];
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

export const limitBody: MiddlewareHandler = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => c.json(errorBody('too_large', `the request body is larger than ${MAX_BODY_BYTES} bytes`), 413),
});

export interface SpecBody {
  spec: ClusterSpec;
  /** the document as JSON text (YAML comments and formatting dropped): what is stored */
  documentJson: string;
  warnings: SpecIssue[];
  /** why the cluster's existing secrets file cannot serve the spec (asked for with `secrets`; empty: it can) */
  secretsIssues: SpecIssue[];
}

export function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The spec in the request body: the media type checked here, the text parsed and validated by `check` (the service
 * runs it in its worker pool, off the event loop). `secrets`: also check the cluster's existing secrets file.
 */
export async function readSpec(c: Context, checker: Pick<Jobs, 'checkSpec'>, o: { secrets?: boolean } = {}): Promise<SpecBody> {
  const type = mediaType(c);
  const isJson = JSON_TYPES.includes(type);
  if (!isJson && !YAML_TYPES.includes(type)) {
    throw new ApiError(415, 'unsupported_media_type', `send the spec as application/json or application/yaml${type ? ` (got ${type.slice(0, 80)})` : ' (no Content-Type)'}`);
  }
  const r = await checker.checkSpec(await c.req.text(), isJson, o);
  if (!r.ok) throw new ApiError(r.status, r.code, r.message, r.issues);
  return { spec: r.spec, documentJson: r.documentJson, warnings: r.warnings, secretsIssues: r.secretsIssues };
}
