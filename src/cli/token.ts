// `airgap-k8s token create|revoke|list`: the service's API tokens, each with a role, kept hashed in its database
// (DATA_DIR/airgap-k8s.db; it may be running meanwhile: SQLite in WAL mode takes both).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Io } from './io.js';

export const TOKEN_USAGE = `Usage: airgap-k8s token create --role viewer|operator|admin [--name NAME] [--data-dir DIR]
       airgap-k8s token revoke NAME [--data-dir DIR]
       airgap-k8s token list [--data-dir DIR] [--json]

API tokens of the REST service (airgap-k8s serve), in its database under DIR (or AIRGAP_K8S_DATA_DIR, default ./data).
  viewer    reads installs, plans, events, files without secrets
  operator  also starts, cancels and resumes installs
  admin     also deletes installs, downloads secret files (with the secrets token) and reads GET /audit
create prints the new token once, on stdout; only its sha256 is kept. The configured token (AIRGAP_K8S_TOKEN or
DATA_DIR/token) is the admin token named "admin". Revoked tokens stop working at once and keep their name, which the
audit trail refers to.
`;

export const TOKEN_OPTIONS = {
  role: { type: 'string' },
  name: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function tokenCommand(values: Record<string, unknown>, positionals: string[], io: Io): Promise<number> {
  const [sub, ...rest] = positionals;
  const dataDir = resolve(io.cwd, (values['data-dir'] as string | undefined) ?? process.env.AIRGAP_K8S_DATA_DIR ?? 'data');
  const fail = (msg: string) => {
    io.stderr(`airgap-k8s token: ${msg}\n`);
    return 2;
  };
  if (sub !== 'create' && sub !== 'revoke' && sub !== 'list') return fail(`${sub ? `unknown command "${sub}"` : 'which one?'}\n\n${TOKEN_USAGE}`);
  if (sub !== 'create' && !existsSync(join(dataDir, 'airgap-k8s.db'))) return fail(`no service database in ${dataDir} (--data-dir DIR)`);
  // loaded here: the other commands do not need SQLite
  const [{ Store }, { AccessStore, ROLES, TokenNameError }] = await Promise.all([import('../api/store.js'), import('../api/access.js')]);
  const role = values.role as string | undefined;
  if (sub === 'create' && !(ROLES as readonly (string | undefined)[]).includes(role)) return fail(`--role must be one of ${ROLES.join(', ')}`);
  if (sub === 'revoke' && rest.length !== 1) return fail('give the name of the token to revoke (airgap-k8s token list)');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = new Store(join(dataDir, 'airgap-k8s.db'));
  try {
    const access = new AccessStore(store.db);
    if (sub === 'create') {
      const name = (values.name as string | undefined) ?? `${role}-${randomBytes(3).toString('hex')}`;
      try {
        const token = access.createToken(name, role as (typeof ROLES)[number]);
        io.stderr(`created token "${name}" (${role}); it is shown only now:\n`);
        io.stdout(`${token}\n`);
        return 0;
      } catch (e) {
        if (e instanceof TokenNameError) return fail(e.message);
        throw e;
      }
    }
    if (sub === 'revoke') {
      if (!access.revokeToken(rest[0]!)) return fail(`no live token named ${JSON.stringify(rest[0]!.slice(0, 70))}`);
      io.stdout(`revoked token "${rest[0]}"\n`);
      return 0;
    }
    const tokens = access.listTokens();
    if (values.json) io.stdout(`${JSON.stringify(tokens, null, 2)}\n`);
    else for (const t of tokens) io.stdout(`${t.name.padEnd(24)} ${t.role.padEnd(9)} created ${t.createdAt}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}\n`);
    return 0;
  } finally {
    store.close();
  }
}
