// Reading a cluster spec from a request body: content type checked (415), size bounded (413, by the bodyLimit
// middleware in front of every route that reads one), JSON parsed strictly or YAML through parseSpec's safe loader
// (aliases, depth and size refused). Malformed syntax is 400; a well-formed document that is not a valid spec is
// 422 with every issue and its path.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import yaml from 'js-yaml';
import { MAX_SPEC_BYTES, parseSpec } from '../spec/load.js';
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
  /** the document as JSON data (YAML comments and formatting dropped): what is stored */
  document: unknown;
  warnings: SpecIssue[];
}

export function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

export async function readSpec(c: Context): Promise<SpecBody> {
  const type = mediaType(c);
  const isJson = JSON_TYPES.includes(type);
  if (!isJson && !YAML_TYPES.includes(type)) {
    throw new ApiError(415, 'unsupported_media_type', `send the spec as application/json or application/yaml${type ? ` (got ${type.slice(0, 80)})` : ' (no Content-Type)'}`);
  }
  const text = await c.req.text();
  let input: unknown = text;
  if (isJson) {
    try {
      input = JSON.parse(text);
    } catch (e) {
      // V8's message may quote the input; keep only where it failed
      const at = /position \d+(?: \(line \d+ column \d+\))?/.exec(e instanceof Error ? e.message : '')?.[0];
      throw new ApiError(400, 'malformed_body', `the body is not valid JSON${at ? ` (at ${at})` : ''}`);
    }
  }
  const r = parseSpec(input);
  if (!r.ok) {
    if (r.issues.every((i) => i.code === 'syntax' || i.code === 'document_count')) {
      throw new ApiError(400, 'malformed_body', r.issues.map((i) => i.message).join('; '), r.issues);
    }
    throw new ApiError(422, 'invalid_spec', `the cluster spec has ${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}`, r.issues);
  }
  const document = isJson ? input : yaml.load(text, { schema: yaml.CORE_SCHEMA });
  return { spec: r.spec, document, warnings: r.warnings };
}
