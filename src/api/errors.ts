// Errors are data: every non-2xx answer is {error: {code, message, issues?}} with a stable code; never a stack trace.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { SpecIssue } from '../spec/issues.js';

export interface ErrorBody {
  error: { code: string; message: string; issues?: SpecIssue[]; warnings?: SpecIssue[] };
}

/** Thrown by handlers and middleware; turned into the JSON body by app.onError. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: SpecIssue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(code: string, message: string, issues?: SpecIssue[]): ErrorBody {
  return { error: { code, message, ...(issues ? { issues } : {}) } };
}

export function errorResponse(c: Context, e: ApiError): Response {
  for (const [k, v] of Object.entries(e.headers ?? {})) c.header(k, v);
  return c.json(errorBody(e.code, e.message, e.issues), e.status);
}
