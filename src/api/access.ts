// Who may do what: roles, the one table of the role each route needs, API tokens kept hashed in SQLite, the audit
// trail of every mutating call, and the per-address limit on failed authentications.
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { writeNow } from './store.js';

/** viewer reads; operator also starts, cancels and resumes installs; admin also deletes, downloads secrets, audits. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
/**
 * A token's role, weakest first: `viewer` reads, `operator` also starts and controls installs, `admin` also manages
 * tokens and reads the audit trail.
 */
export type Role = (typeof ROLES)[number];

export const roleAllows = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);

/**
 * The role each route needs, keyed `METHOD /path` as the OpenAPI document writes paths. `public`: no token at all.
 * Every route of the app must be here (a test walks the app's routes), and the OpenAPI document shows each as
 * x-required-role. A query that asks for more (includeSecrets=true) is checked by its route, as admin.
 */
export const ROUTE_ACCESS = {
  'GET /healthz': 'public',
  'GET /readyz': 'viewer',
  'GET /openapi.json': 'viewer',
  'GET /docs': 'viewer',
  'POST /validate': 'viewer',
  'POST /render': 'viewer',
  'GET /clusters': 'viewer',
  'POST /clusters': 'operator',
  'GET /clusters/{id}': 'viewer',
  'DELETE /clusters/{id}': 'admin',
  'GET /clusters/{id}/plan': 'viewer',
  'GET /clusters/{id}/files': 'viewer',
  // and the secrets token besides, checked by the route (the snapshot holds every Secret)
  'GET /clusters/{id}/snapshot': 'admin',
  'GET /clusters/{id}/events': 'viewer',
  'POST /clusters/{id}/cancel': 'operator',
  'POST /clusters/{id}/resume': 'operator',
  'POST /operations': 'operator',
  'GET /audit': 'admin',
  // the console's static files (src/api/console.ts): they hold no data; the page calls the routes above with the
  // token the operator pastes
  'GET /console': 'public',
  'GET /console/{file}': 'public',
} as const satisfies Record<string, Role | 'public'>;
export type RouteKey = keyof typeof ROUTE_ACCESS;

/** Routes that are not operations of the OpenAPI document: the document itself, its page, the console's files. */
export const NOT_IN_DOCUMENT: readonly RouteKey[] = ['GET /openapi.json', 'GET /docs', 'GET /console', 'GET /console/{file}'];

const ROUTE_TABLE = Object.entries(ROUTE_ACCESS).map(([key, need]) => {
  const [method, path] = key.split(' ') as [string, string];
  return { key: key as RouteKey, method, need, re: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}/?$`) };
});

/** The route a request is for (HEAD as GET), or undefined for a path/method the service does not have. */
export function routeOf(method: string, path: string): { key: RouteKey; need: Role | 'public' } | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  const r = ROUTE_TABLE.find((x) => x.method === m && x.re.test(path));
  return r && { key: r.key, need: r.need };
}

/** A path whose routes are all public: another method on it is answered (405) without a token, as the route is. */
export const publicPath = (path: string): boolean => {
  const rs = ROUTE_TABLE.filter((x) => x.re.test(path));
  return rs.length > 0 && rs.every((x) => x.need === 'public');
};

/** Calls that change state: each leaves one audit entry (so does a secrets download, checked by its route). */
export const isMutating = (method: string): boolean => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';

/** Who a valid token belongs to: its name and role. */
export interface Principal {
  /** the token's name (the configured token is `admin`) */
  name: string;
  role: Role;
}

/** An API token as listed by `GET /tokens`: its name, role and dates (ISO 8601), never its value. */
export interface TokenInfo {
  name: string;
  role: Role;
  createdAt: string;
  revokedAt: string | null;
}

/**
 * One line of the audit trail: who (token, role, source address) called what (method, path, cluster) and the answer.
 */
export interface AuditEntry {
  seq: number;
  at: string;
  /** the token's name; null when no valid token was presented */
  token: string | null;
  role: Role | null;
  source: string;
  method: string;
  path: string;
  clusterId: string | null;
  status: number;
  /** ok (2xx/3xx), denied (401, 403, 429) or failed (any other error) */
  outcome: 'ok' | 'denied' | 'failed';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  token TEXT,
  role TEXT,
  source TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  cluster_id TEXT,
  status INTEGER NOT NULL,
  outcome TEXT NOT NULL
);
`;

/** A token's name: shown in the audit trail and the CLI; never the token. */
export const TOKEN_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const hashOf = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export class TokenNameError extends Error {}

/** Tokens and the audit trail, in the service's database. Tokens are stored as sha256 only (they are random). */
export class AccessStore {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    db.exec(SCHEMA);
  }

  /** A new token for a role; the token itself is returned once and kept only as its hash. */
  createToken(name: string, role: Role): string {
    if (!TOKEN_NAME.test(name)) throw new TokenNameError(`token name ${JSON.stringify(name.slice(0, 70))}: 1-63 of a-z 0-9 . _ -, starting with a letter or digit`);
    if (name === 'admin') throw new TokenNameError('the name admin is the configured token\'s (AIRGAP_K8S_TOKEN / DATA_DIR/token)');
    const token = `agk_${randomBytes(24).toString('base64url')}`;
    try {
      this.db.prepare('INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)').run(name, role, hashOf(token), this.now());
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new TokenNameError(`a token named ${name} exists (revoked tokens keep their name: the audit trail refers to it)`);
      throw e;
    }
    return token;
  }

  /** true when a live token of that name was revoked */
  revokeToken(name: string): boolean {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(this.now(), name).changes === 1;
  }

  /** Every token ever created, revoked ones included, oldest first. */
  listTokens(): TokenInfo[] {
    return (this.db.prepare('SELECT name, role, created_at, revoked_at FROM tokens ORDER BY created_at, name').all() as { name: string; role: Role; created_at: string; revoked_at: string | null }[]).map(
      (r) => ({ name: r.name, role: r.role, createdAt: r.created_at, revokedAt: r.revoked_at }),
    );
  }

  /** The live token presented, if any (looked up by its hash). */
  principalOf(token: string): Principal | undefined {
    const r = this.db.prepare('SELECT name, role FROM tokens WHERE hash = ? AND revoked_at IS NULL').get(hashOf(token)) as { name: string; role: Role } | undefined;
    return r && { name: r.name, role: r.role };
  }

  private auditStmt: Database.Statement | undefined;

  /** Appends an entry to the audit trail, numbered and timestamped here, and returns it. */
  audit(e: Omit<AuditEntry, 'seq' | 'at'>): AuditEntry {
    const at = this.now();
    this.auditStmt ??= this.db.prepare('INSERT INTO audit (at, token, role, source, method, path, cluster_id, status, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq');
    const insert = this.auditStmt;
    // on the request path of every call that changes state: see writeNow
    const r = writeNow(this.db, () => insert.get(at, e.token, e.role, e.source, e.method, e.path, e.clusterId, e.status, e.outcome) as { seq: number });
    return { seq: r.seq, at, ...e };
  }

  /**
   * Audit entries with a sequence number above `after`, oldest first, at most `limit` (for paging through the trail).
   */
  auditAfter(after: number, limit: number): AuditEntry[] {
    return (
      this.db.prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit) as {
        seq: number; at: string; token: string | null; role: Role | null; source: string; method: string; path: string; cluster_id: string | null; status: number; outcome: AuditEntry['outcome'];
      }[]
    ).map((r) => ({ seq: r.seq, at: r.at, token: r.token, role: r.role, source: r.source, method: r.method, path: r.path, clusterId: r.cluster_id, status: r.status, outcome: r.outcome }));
  }
}

/**
 * Failed authentications per source address: after `max` failures within `windowMs` the address gets 429 with
 * Retry-After until `blockMs` have passed, whatever it presents. A success clears its count. Bounded memory: at most
 * `maxAddresses` are tracked (the oldest dropped first). `max` 0: no limit.
 */
export class AuthFailureLimiter {
  private readonly seen = new Map<string, { failures: number[]; blockedUntil: number }>();
  constructor(
    readonly o: { max: number; windowMs: number; blockMs: number; maxAddresses: number } = { max: 20, windowMs: 60_000, blockMs: 60_000, maxAddresses: 10_000 },
    private readonly clock: () => number = Date.now,
  ) {}

  /** seconds to wait when the address is blocked, else 0 */
  retryAfter(address: string): number {
    const s = this.seen.get(address);
    const left = s ? s.blockedUntil - this.clock() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts a failed authentication from `address`; the failure that reaches `max` within the window blocks it. */
  fail(address: string): void {
    if (this.o.max <= 0) return; // no limit
    const now = this.clock();
    const s = this.seen.get(address) ?? { failures: [], blockedUntil: 0 };
    this.seen.delete(address); // re-inserted: the map's order is the order of last activity
    s.failures = [...s.failures.filter((t) => now - t < this.o.windowMs), now];
    if (s.failures.length >= this.o.max) {
      s.blockedUntil = now + this.o.blockMs;
      s.failures = [];
    }
    this.seen.set(address, s);
    while (this.seen.size > this.o.maxAddresses) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Forgets the failures of `address` after a successful authentication. */
  succeed(address: string): void {
    this.seen.delete(address);
  }
}
