// Service settings from the environment, with flags (airgap-k8s serve --...) taking precedence. Pure apart from
// reading token files; the first-start token is made by ensureToken.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXECUTOR_KINDS, type ExecutorKind } from './model.js';
import { isLoopback } from './tls.js';

/** What `airgap-k8s serve` runs with, resolved from flags and environment by {@link resolveConfig}. */
export interface ServiceConfig {
  host: string;
  port: number;
  dataDir: string;
  secretsDir: string;
  /** where the API token comes from */
  token: { kind: 'env'; value: string } | { kind: 'file'; file: string } | { kind: 'generated'; file: string };
  /** the separate token for GET /clusters/{id}/files?includeSecrets=true; unset disables secret downloads */
  secretsToken?: string;
  defaultExecutor: ExecutorKind;
  dryRunDelayMs: number;
  knownHostsFile?: string;
  /** the unpacked offline bundle on this machine for every install (default: each spec's offline.bundleDir) */
  bundleDir?: string;
  concurrency: number;
  dbSync: 'normal' | 'full';
  heartbeatMs: number;
  /** failed authentications per address within a minute before it is refused (429) for a minute; 0: no limit */
  authFailureLimit: number;
  /**
   * HTTPS with the given files; with a self-signed certificate in DATA_DIR/tls (the default off loopback); or plain
   * HTTP (`insecure`: off loopback, asked for with --insecure-http)
   */
  tls: { kind: 'files'; certFile: string; keyFile: string } | { kind: 'generated'; dir: string } | { kind: 'off'; insecure: boolean };
}

/** The command-line flags of `airgap-k8s serve`, as given (each overrides its environment variable). */
export interface ServeFlags {
  listen?: string;
  'data-dir'?: string;
  'secrets-dir'?: string;
  'token-file'?: string;
  'secrets-token-file'?: string;
  executor?: string;
  'dry-run-delay-ms'?: string;
  'known-hosts'?: string;
  bundle?: string;
  concurrency?: string;
  'db-sync'?: string;
  'auth-failure-limit'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'insecure-http'?: boolean;
}

type StringFlag = Exclude<keyof ServeFlags, 'insecure-http'>;

/** The help text listing each environment variable of `airgap-k8s serve`, its flag and its default. */
export const ENV_HELP = `Environment (flags take precedence):
  AIRGAP_K8S_LISTEN             --listen HOST:PORT       default 127.0.0.1:8080
  AIRGAP_K8S_DATA_DIR           --data-dir DIR           default ./data (SQLite database, generated token)
  AIRGAP_K8S_SECRETS_DIR        --secrets-dir DIR        default DATA_DIR/secrets (one 0600 secrets file per cluster)
  AIRGAP_K8S_TOKEN                                       the API bearer token
  AIRGAP_K8S_TOKEN_FILE         --token-file FILE        or a file holding it; with neither, a token is generated at
                                                         first start into DATA_DIR/token (0600) and printed once
  AIRGAP_K8S_SECRETS_TOKEN                               a second token that allows downloading secret files
  AIRGAP_K8S_SECRETS_TOKEN_FILE --secrets-token-file F   (GET /clusters/{id}/files?includeSecrets=true); unset: never
  AIRGAP_K8S_EXECUTOR           --executor dry-run|ssh|kind default for POST /clusters without ?executor (default ssh)
  AIRGAP_K8S_DRYRUN_DELAY_MS    --dry-run-delay-ms N     dry-run: wait N ms before each command (default 0)
  AIRGAP_K8S_KNOWN_HOSTS        --known-hosts FILE       ssh: known_hosts for hosts without a pinned fingerprint
  AIRGAP_K8S_BUNDLE_DIR         --bundle DIR             the unpacked offline bundle on this machine (default: each
                                                         spec's offline.bundleDir); a dry run works without one
  AIRGAP_K8S_CONCURRENCY        --concurrency N          hosts at once within a phase (default 10)
  AIRGAP_K8S_DB_SYNC            --db-sync normal|full    SQLite synchronous mode (default normal: survives a killed
                                                         process; full: also power loss, ~5 ms per commit)
  AIRGAP_K8S_AUTH_FAILURE_LIMIT --auth-failure-limit N   failed authentications from one address within a minute
                                                         before it gets 429 for a minute (default 20; 0: no limit)
  AIRGAP_K8S_TLS_CERT           --tls-cert FILE          serve HTTPS with this certificate (PEM, chain after it)
  AIRGAP_K8S_TLS_KEY            --tls-key FILE           and its key (PEM; must not be readable by group or others)
                                                         Without them: plain HTTP on loopback (127.0.0.0/8, ::1,
                                                         localhost); on any other address a self-signed certificate
                                                         is made at the first start into DATA_DIR/tls (its SHA-256
                                                         fingerprint printed once: clients pin it with
                                                         --tls-fingerprint or trust it with --ca-file)
  AIRGAP_K8S_INSECURE_HTTP=1    --insecure-http          plain HTTP off loopback (token and specs readable on the wire)
`;

/** The resolved configuration, or every problem found in the flags and environment. */
export type ConfigResult = { ok: true; config: ServiceConfig } | { ok: false; errors: string[] };

/**
 * Resolves the service's configuration from the environment (`AIRGAP_K8S_*`, see {@link ENV_HELP}) and flags, flags
 * first, paths relative to `cwd`. Every bad value is reported, not just the first.
 */
export function resolveConfig(env: Record<string, string | undefined>, flags: ServeFlags, cwd: string): ConfigResult {
  const errors: string[] = [];
  const pick = (flag: StringFlag, name: string) => flags[flag] ?? (env[name] === '' ? undefined : env[name]);

  const listen = pick('listen', 'AIRGAP_K8S_LISTEN') ?? '127.0.0.1:8080';
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) errors.push(`listen address ${JSON.stringify(listen)} must be HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)`);
  const host = m?.[1] ?? m?.[2] ?? '127.0.0.1';

  const dataDir = resolve(cwd, pick('data-dir', 'AIRGAP_K8S_DATA_DIR') ?? 'data');
  const secretsDir = resolve(cwd, pick('secrets-dir', 'AIRGAP_K8S_SECRETS_DIR') ?? join(dataDir, 'secrets'));

  let token: ServiceConfig['token'];
  const tokenFile = pick('token-file', 'AIRGAP_K8S_TOKEN_FILE');
  if (flags['token-file'] === undefined && env.AIRGAP_K8S_TOKEN) token = { kind: 'env', value: env.AIRGAP_K8S_TOKEN };
  else if (tokenFile) token = { kind: 'file', file: resolve(cwd, tokenFile) };
  else token = { kind: 'generated', file: join(dataDir, 'token') };
  if (token.kind === 'env' && token.value.length < 16) errors.push('AIRGAP_K8S_TOKEN must be at least 16 characters');

  let secretsToken: string | undefined = env.AIRGAP_K8S_SECRETS_TOKEN || undefined;
  const secretsTokenFile = pick('secrets-token-file', 'AIRGAP_K8S_SECRETS_TOKEN_FILE');
  if (secretsTokenFile) {
    const r = readTokenFile(resolve(cwd, secretsTokenFile));
    if (r.ok) secretsToken = r.token;
    else errors.push(r.error);
  }
  if (secretsToken !== undefined && secretsToken.length < 16) errors.push('the secrets token must be at least 16 characters');

  const executor = pick('executor', 'AIRGAP_K8S_EXECUTOR') ?? 'ssh';
  if (!(EXECUTOR_KINDS as readonly string[]).includes(executor)) errors.push(`executor must be one of ${EXECUTOR_KINDS.join(', ')} (got ${JSON.stringify(executor)})`);

  const int = (flag: StringFlag, name: string, dflt: number, min: number, max: number) => {
    const v = pick(flag, name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) errors.push(`${name} / --${flag} must be an integer ${min}-${max} (got ${JSON.stringify(v)})`);
    return n;
  };
  const dryRunDelayMs = int('dry-run-delay-ms', 'AIRGAP_K8S_DRYRUN_DELAY_MS', 0, 0, 600_000);
  const concurrency = int('concurrency', 'AIRGAP_K8S_CONCURRENCY', 10, 1, 200);
  const authFailureLimit = int('auth-failure-limit', 'AIRGAP_K8S_AUTH_FAILURE_LIMIT', 20, 0, 100_000);
  const dbSync = pick('db-sync', 'AIRGAP_K8S_DB_SYNC') ?? 'normal';
  if (dbSync !== 'normal' && dbSync !== 'full') errors.push(`db sync must be normal or full (got ${JSON.stringify(dbSync)})`);
  const knownHosts = pick('known-hosts', 'AIRGAP_K8S_KNOWN_HOSTS');
  const bundleDir = pick('bundle', 'AIRGAP_K8S_BUNDLE_DIR');
  const heartbeatMs = Number(env.AIRGAP_K8S_SSE_HEARTBEAT_MS ?? 15_000);
  const tls = tlsSetting(env, flags, pick, host, dataDir, cwd, errors);

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      host,
      port,
      dataDir,
      secretsDir,
      token,
      ...(secretsToken ? { secretsToken } : {}),
      defaultExecutor: executor as ExecutorKind,
      dryRunDelayMs,
      ...(knownHosts ? { knownHostsFile: resolve(cwd, knownHosts) } : {}),
      ...(bundleDir ? { bundleDir: resolve(cwd, bundleDir) } : {}),
      concurrency,
      dbSync: dbSync as 'normal' | 'full',
      heartbeatMs: Number.isFinite(heartbeatMs) && heartbeatMs >= 100 ? heartbeatMs : 15_000,
      authFailureLimit,
      tls,
    },
  };
}

/** --tls-cert/--tls-key (both or neither, the key private to its owner), --insecure-http, and the default by address. */
function tlsSetting(
  env: Record<string, string | undefined>,
  flags: ServeFlags,
  pick: (flag: 'tls-cert' | 'tls-key', name: string) => string | undefined,
  host: string,
  dataDir: string,
  cwd: string,
  errors: string[],
): ServiceConfig['tls'] {
  const certArg = pick('tls-cert', 'AIRGAP_K8S_TLS_CERT');
  const keyArg = pick('tls-key', 'AIRGAP_K8S_TLS_KEY');
  const insecureEnv = env.AIRGAP_K8S_INSECURE_HTTP ?? '';
  if (!['', '0', '1', 'false', 'true'].includes(insecureEnv)) errors.push(`AIRGAP_K8S_INSECURE_HTTP must be 1 or 0 (got ${JSON.stringify(insecureEnv)})`);
  const insecure = flags['insecure-http'] ?? (insecureEnv === '1' || insecureEnv === 'true');
  if (certArg !== undefined || keyArg !== undefined) {
    if (certArg === undefined || keyArg === undefined) {
      errors.push('--tls-cert and --tls-key (AIRGAP_K8S_TLS_CERT, AIRGAP_K8S_TLS_KEY) go together: give both or neither');
      return { kind: 'off', insecure: false };
    }
    if (insecure) errors.push('--insecure-http and --tls-cert/--tls-key contradict each other: give one of them');
    const certFile = resolve(cwd, certArg);
    const keyFile = resolve(cwd, keyArg);
    for (const [what, file] of [['certificate', certFile], ['key', keyFile]] as const) {
      try {
        const mode = statSync(file).mode;
        if (what === 'key' && (mode & 0o077) !== 0) {
          errors.push(`${file}: the TLS key is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it`);
        }
        readFileSync(file);
      } catch (e) {
        errors.push(`${file}: cannot read the TLS ${what} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      }
    }
    return { kind: 'files', certFile, keyFile };
  }
  if (isLoopback(host)) return { kind: 'off', insecure: false };
  return insecure ? { kind: 'off', insecure: true } : { kind: 'generated', dir: join(dataDir, 'tls') };
}

function readTokenFile(file: string): { ok: true; token: string } | { ok: false; error: string } {
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length < 16) return { ok: false, error: `${file}: the token must be at least 16 characters` };
    return { ok: true, token };
  } catch (e) {
    return { ok: false, error: `${file}: cannot read the token file (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
}

/**
 * The API token. A generated one is made at the first start (32 random bytes, base64url) into a 0600 file;
 * `generated` is true only then, so the caller prints it once.
 */
export function ensureToken(t: ServiceConfig['token']): { ok: true; token: string; generated: boolean } | { ok: false; error: string } {
  if (t.kind === 'env') return { ok: true, token: t.value, generated: false };
  if (t.kind === 'file' || existsSync(t.file)) {
    const r = readTokenFile(t.file);
    if (!r.ok) return r;
    if (t.kind === 'generated' && (statSync(t.file).mode & 0o077) !== 0) chmodSync(t.file, 0o600);
    return { ok: true, token: r.token, generated: false };
  }
  // never a leading '-': the token goes on command lines (`--token $(cat data/token)`), where one reads as an option
  // (1 generated token in 64 did; seen as a failed `apply --server` in CI)
  let token = randomBytes(32).toString('base64url');
  while (token.startsWith('-')) token = randomBytes(32).toString('base64url');
  mkdirSync(resolve(t.file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(t.file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { ok: true, token, generated: true };
}
