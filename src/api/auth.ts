// Bearer-token auth. Tokens are compared in constant time: both sides are hashed to 32 bytes first (sha256), so
// neither the content nor the length of the expected token leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function tokenEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token from `Authorization: Bearer <token>`, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header ?? '');
  return m?.[1];
}

/** Every path except those in `open` needs the token. */
export function requireToken(token: string, open: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    if (open.includes(c.req.path)) return next();
    const presented = bearer(c.req.header('authorization'));
    if (presented === undefined || !tokenEquals(presented, token)) {
      throw new ApiError(401, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)', undefined, {
        'WWW-Authenticate': 'Bearer realm="airgap-k8s"',
      });
    }
    return next();
  };
}
