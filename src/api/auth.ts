// Authentication and authorization of every request, and the audit trail of what changes state. Tokens are
// compared in constant time: the configured token by hashing both sides to 32 bytes first (so neither its content
// nor its length leaks through timing), issued tokens by looking up their sha256.
import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';
import { isMutating, publicPath, roleAllows, routeOf, type AccessStore, type AuthFailureLimiter, type Principal, type Role } from './access.js';
import type { Logger } from './log.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function tokenEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token from `Authorization: Bearer <token>`, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header ?? '');
  return m?.[1];
}

/** The peer's address (the socket's; no forwarding header is trusted), or `unknown` when there is no socket (tests). */
export function sourceOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// per request, keyed by its Context (the one object every middleware and the route share; a body limit may replace
// the Request)
const principals = new WeakMap<Context, Principal>();
/** Who made the request (after authorize); undefined for public routes and refused requests. */
export const principalOf = (c: Context): Principal | undefined => principals.get(c);

/** 403 unless the request's principal has at least `role` (routes that ask more for some queries). */
export function requireRole(c: Context, role: Role, what: string): void {
  const p = principalOf(c);
  if (!p || !roleAllows(p.role, role)) throw new ApiError(403, 'forbidden', `${what} needs the ${role} role; this token (${p?.name ?? 'none'}) has ${p?.role ?? 'none'}`);
}

export interface AuthDeps {
  /** the configured token (AIRGAP_K8S_TOKEN, DATA_DIR/token): role admin, named `admin` */
  token: string;
  access: AccessStore;
  limiter: AuthFailureLimiter;
}

/**
 * Every request but the public routes needs a valid token whose role the route's entry in ROUTE_ACCESS allows
 * (paths the service does not have need any valid token: their 404/405 tells nothing to strangers). An address
 * with too many failures gets 429 with Retry-After before its token is even looked at.
 */
export function authorize(d: AuthDeps): MiddlewareHandler {
  return async (c, next) => {
    const route = routeOf(c.req.method, c.req.path);
    if (route?.need === 'public' || (!route && publicPath(c.req.path))) return next();
    const source = sourceOf(c);
    const wait = d.limiter.retryAfter(source);
    if (wait > 0) throw new ApiError(429, 'too_many_failures', `too many failed authentications from ${source}; try again in ${wait} s`, undefined, { 'Retry-After': String(wait) });
    const presented = bearer(c.req.header('authorization'));
    const principal = presented === undefined ? undefined : tokenEquals(presented, d.token) ? { name: 'admin', role: 'admin' as const } : d.access.principalOf(presented);
    if (!principal) {
      d.limiter.fail(source);
      throw new ApiError(401, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)', undefined, { 'WWW-Authenticate': 'Bearer realm="airgap-k8s"' });
    }
    d.limiter.succeed(source);
    principals.set(c, principal);
    const need = route?.need ?? 'viewer';
    if (!roleAllows(principal.role, need)) {
      throw new ApiError(403, 'forbidden', `${c.req.method} ${route?.key.split(' ')[1] ?? c.req.path} needs the ${need} role; this token (${principal.name}) has ${principal.role}`);
    }
    return next();
  };
}

/** Marks a read that is audited too (a secrets download): its route calls this before answering. */
const auditedReads = new WeakSet<Context>();
export const auditThis = (c: Context): void => void auditedReads.add(c);

/**
 * One audit entry per mutating call (and per audited read), allowed or not, after its answer: who (token name and
 * role), from where, what (method, path without query, cluster id), and how it ended. Also a JSON log line.
 */
export function auditTrail(access: AccessStore, log: Logger): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (!isMutating(c.req.method) && !auditedReads.has(c)) return;
    const status = c.res.status;
    const p = principalOf(c);
    const fromPath = /^\/clusters\/([^/]+)/.exec(c.req.path)?.[1];
    const created = /^\/clusters\/([^/]+)$/.exec(c.res.headers.get('location') ?? '')?.[1];
    const e = access.audit({
      token: p?.name ?? null,
      role: p?.role ?? null,
      source: sourceOf(c),
      method: c.req.method.slice(0, 10),
      path: c.req.path.slice(0, 200),
      clusterId: (fromPath ?? created ?? null)?.slice(0, 64) ?? null,
      status,
      outcome: status < 400 ? 'ok' : status === 401 || status === 403 || status === 429 ? 'denied' : 'failed',
    });
    log.info('audit', { ...e });
  };
}
