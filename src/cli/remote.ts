// The CLI as a client of the REST service: `apply SPEC --server URL` posts the spec and follows the install's event
// stream with the same progress printer as a local apply (reconnecting with Last-Event-ID, so a dropped connection
// or a restarted server loses nothing); `status ID --server URL` shows one install.
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { exampleSpecText } from '../spec/example.js';
import { progressPrinter } from './progress.js';
import type { RunEvent } from '../runner/runner.js';
import type { SpecIssue } from '../spec/issues.js';
import { normalizeFingerprint } from '../api/tls.js';
import { serverFetch, TlsTrustError, type ClientTls } from './server-fetch.js';

export interface RemoteIo {
  stdout(s: string): void;
  stderr(s: string): void;
  readFile(path: string): string;
  cwd: string;
}

export const EXIT = { ok: 0, fail: 1, input: 2 } as const;

type StatusName = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export interface StatusEvent {
  type: 'status';
  status: StatusName;
  reason?: string;
  summary?: { changed: number; skipped: number; failed: number; durationMs: number };
}
type ServiceEvent = (RunEvent | StatusEvent) & { seq: number; at: string };
const TERMINAL: readonly string[] = ['succeeded', 'failed', 'cancelled'];

interface ErrorBody {
  error?: { code?: string; message?: string; issues?: SpecIssue[] };
}

/** The options that say what to trust in an https:// server (apply --server, status), and their usage lines. */
export const TLS_CLIENT_OPTIONS = { 'ca-file': { type: 'string' }, 'tls-fingerprint': { type: 'string' } } as const;
export const TLS_CLIENT_HELP = `  --ca-file F         https: trust this CA, or the server's own certificate (DATA_DIR/tls/server.crt), instead
                      of the system's CAs (or AIRGAP_K8S_CA_FILE)
  --tls-fingerprint H https: accept only the server certificate with this SHA-256 fingerprint (colon-separated
                      or plain hex, as the server prints it; or AIRGAP_K8S_TLS_FINGERPRINT)
`;

/** The server URL, token and what to trust for https (--ca-file, --tls-fingerprint) from flags, then the environment. */
export function remoteTarget(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
  cwd: string,
): { ok: true; server: string; token: string; tls: ClientTls } | { ok: false; error: string } {
  const server = ((values.server as string | undefined) ?? env.AIRGAP_K8S_SERVER ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(server)) return { ok: false, error: '--server must be a URL such as http://127.0.0.1:8080' };
  let token = (values.token as string | undefined) ?? env.AIRGAP_K8S_TOKEN;
  const file = (values['token-file'] as string | undefined) ?? env.AIRGAP_K8S_TOKEN_FILE;
  if (!token && file) {
    try {
      token = readFileSync(resolve(cwd, file), 'utf8').trim();
    } catch (e) {
      return { ok: false, error: `${file}: cannot read the token file (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})` };
    }
  }
  if (!token) return { ok: false, error: 'a token is needed: --token, --token-file, AIRGAP_K8S_TOKEN or AIRGAP_K8S_TOKEN_FILE (the server prints it at its first start)' };
  const tls = clientTls(values, env, cwd, server.startsWith('https:'));
  return tls.ok ? { ok: true, server, token, tls: tls.tls } : tls;
}

function clientTls(values: Record<string, unknown>, env: Record<string, string | undefined>, cwd: string, https: boolean): { ok: true; tls: ClientTls } | { ok: false; error: string } {
  const caFlag = values['ca-file'] as string | undefined;
  const pinFlag = values['tls-fingerprint'] as string | undefined;
  if (!https) {
    // the environment may be set for another server; a flag given for this one would be silently useless
    if (caFlag !== undefined || pinFlag !== undefined) return { ok: false, error: '--ca-file and --tls-fingerprint need an https:// server URL' };
    return { ok: true, tls: {} };
  }
  const tls: ClientTls = {};
  const caFile = caFlag ?? (env.AIRGAP_K8S_CA_FILE || undefined);
  if (caFile !== undefined) {
    try {
      tls.ca = readFileSync(resolve(cwd, caFile), 'utf8');
    } catch (e) {
      return { ok: false, error: `${caFile}: cannot read the CA file (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})` };
    }
    if (!tls.ca.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, error: `${caFile}: not a PEM certificate` };
  }
  const pin = pinFlag ?? (env.AIRGAP_K8S_TLS_FINGERPRINT || undefined);
  if (pin !== undefined) {
    const fp = normalizeFingerprint(pin);
    if (!fp) return { ok: false, error: `--tls-fingerprint must be a SHA-256 fingerprint: 64 hex digits, colon-separated or not (got ${JSON.stringify(pin)})` };
    tls.fingerprint = fp;
  }
  return { ok: true, tls };
}

function describeError(status: number, body: ErrorBody): string {
  const e = body.error ?? {};
  const issues = (e.issues ?? []).map((i) => `  ${i.path || '(document)'}: ${i.message}`).join('\n');
  return `${status} ${e.code ?? 'error'}: ${e.message ?? ''}${issues ? `\n${issues}` : ''}\n`;
}

async function json(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return {};
  }
}

export async function remoteApply(o: {
  server: string;
  token: string;
  tls?: ClientTls;
  specArg: string | undefined;
  executor?: string;
  verbose: boolean;
  io: RemoteIo;
  /** Ctrl-C: the first asks the server to cancel, the second stops following */
  interrupts?: { on(fn: () => void): () => void };
}): Promise<number> {
  const { io } = o;
  let text: string;
  try {
    text = o.specArg ? io.readFile(o.specArg === '-' ? '/dev/stdin' : resolve(io.cwd, o.specArg)) : exampleSpecText();
  } catch (e) {
    io.stderr(`${o.specArg}: cannot read the spec file (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})\n`);
    return EXIT.input;
  }
  const auth = { authorization: `Bearer ${o.token}` };
  const query = o.executor ? `?executor=${encodeURIComponent(o.executor)}` : '';
  let res: Response;
  try {
    res = await serverFetch(`${o.server}/clusters${query}`, { method: 'POST', body: text, headers: { ...auth, 'content-type': 'application/yaml' } }, o.tls);
  } catch (e) {
    io.stderr(`cannot reach ${o.server}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}\n`);
    return EXIT.fail;
  }
  const body = (await json(res)) as ErrorBody & { id?: string; name?: string; executor?: string; warnings?: SpecIssue[] };
  if (res.status !== 202 || !body.id) {
    io.stderr(describeError(res.status, body));
    return [400, 413, 415, 422].includes(res.status) ? EXIT.input : EXIT.fail;
  }
  for (const w of body.warnings ?? []) io.stderr(`warning: ${w.path || '(document)'}: ${w.message}\n`);
  const id = body.id;
  io.stderr(`install ${id} of cluster "${body.name}" accepted (executor ${body.executor}); follow: ${o.server}/clusters/${id}/events\n`);

  const stop = new AbortController();
  let interrupts = 0;
  const off = o.interrupts?.on(() => {
    interrupts++;
    if (interrupts === 1) {
      io.stderr('\ncancelling the install on the server (Ctrl-C again to stop following)\n');
      serverFetch(`${o.server}/clusters/${id}/cancel`, { method: 'POST', headers: auth }, o.tls).catch(() => undefined);
    } else stop.abort();
  });
  try {
    const print = progressPrinter((s) => io.stdout(s), { verbose: o.verbose });
    const final = await followEvents({
      server: o.server,
      token: o.token,
      ...(o.tls ? { tls: o.tls } : {}),
      id,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'status') {
          if (!TERMINAL.includes(e.status) && e.reason) io.stdout(`-- ${e.status}: ${e.reason}\n`);
          if (e.status === 'failed' && e.reason) io.stdout(`FAILED: ${e.reason}\n`);
        } else print(e);
      },
      onRetry: (why) => io.stderr(`connection to the server lost (${why}); reconnecting\n`),
    });
    if (!final) {
      io.stderr(`stopped following; the install continues on the server: airgap-k8s status ${id} --server ${o.server}\n`);
      return EXIT.fail;
    }
    return final.status === 'succeeded' ? EXIT.ok : EXIT.fail;
  } catch (e) {
    io.stderr(`${(e as Error).message}\n`);
    return EXIT.fail;
  } finally {
    off?.();
  }
}

/**
 * Follow /clusters/{id}/events until a terminal status event; reconnect (Last-Event-ID) when the stream breaks,
 * for up to `giveUpMs` without a successful connection. Returns the final status event, or undefined if stopped.
 */
export async function followEvents(o: {
  server: string;
  token: string;
  tls?: ClientTls;
  id: string;
  onEvent: (e: ServiceEvent) => void;
  onRetry?: (why: string) => void;
  signal?: AbortSignal;
  giveUpMs?: number;
}): Promise<(StatusEvent & { seq: number; at: string }) | undefined> {
  let last = 0;
  let failingSince: number | undefined;
  let delay = 250;
  for (;;) {
    if (o.signal?.aborted) return undefined;
    let why: string;
    try {
      const res = await serverFetch(
        `${o.server}/clusters/${o.id}/events`,
        {
          headers: { authorization: `Bearer ${o.token}`, accept: 'text/event-stream', ...(last > 0 ? { 'last-event-id': String(last) } : {}) },
          ...(o.signal ? { signal: o.signal } : {}),
        },
        o.tls,
      );
      if (res.status >= 400 && res.status < 500) throw new FatalError(describeError(res.status, (await json(res)) as ErrorBody).trim());
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      failingSince = undefined;
      delay = 250;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (!data) continue;
          const e = JSON.parse(data) as ServiceEvent;
          last = e.seq;
          o.onEvent(e);
          if (e.type === 'status' && TERMINAL.includes(e.status)) {
            await reader.cancel().catch(() => undefined);
            return e;
          }
        }
      }
      why = 'the stream ended early';
    } catch (e) {
      if (e instanceof FatalError || e instanceof TlsTrustError) throw e;
      if (o.signal?.aborted) return undefined;
      why = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    }
    failingSince ??= Date.now();
    if (Date.now() - failingSince > (o.giveUpMs ?? 60_000)) throw new Error(`gave up reconnecting to ${o.server}: ${why}`);
    o.onRetry?.(why);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5_000);
  }
}

class FatalError extends Error {}

interface Detail {
  id: string;
  name: string;
  status: StatusName;
  phase: string | null;
  executor: string;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  runs: number;
  progress: Record<string, number>;
  steps: { id: string; host: string | null; state: string; error: string | null; durationMs: number | null }[];
}

/** GET /clusters/{id}: exit 0 succeeded/pending/running, 1 failed or cancelled, 2 no such install or bad input. */
export async function remoteStatus(o: { server: string; token: string; tls?: ClientTls; id: string; json: boolean; io: RemoteIo }): Promise<number> {
  let res: Response;
  try {
    res = await serverFetch(`${o.server}/clusters/${encodeURIComponent(o.id)}`, { headers: { authorization: `Bearer ${o.token}` } }, o.tls);
  } catch (e) {
    o.io.stderr(`cannot reach ${o.server}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}\n`);
    return EXIT.fail;
  }
  const body = (await json(res)) as Detail & ErrorBody;
  if (res.status !== 200) {
    o.io.stderr(describeError(res.status, body));
    return res.status === 404 || res.status === 400 ? EXIT.input : EXIT.fail;
  }
  if (o.json) o.io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  else {
    const p = body.progress;
    o.io.stdout(
      `${body.id}  cluster "${body.name}"  ${body.status}${body.phase ? `  phase ${body.phase}` : ''}  executor ${body.executor}  runs ${body.runs}\n` +
        `steps: ${p.done} done, ${p.skipped} skipped, ${p.running} running, ${p.failed} failed, ${p.interrupted ? `${p.interrupted} interrupted, ` : ''}${p.pending} pending (of ${p.total})\n` +
        (body.error ? `error: ${body.error}\n` : '') +
        body.steps
          .filter((s) => s.state === 'running' || s.state === 'retrying' || s.state === 'failed' || s.state === 'interrupted')
          .map((s) => `  ${s.state.padEnd(8)} ${(s.host ?? '').padEnd(10)} ${s.id}${s.error && s.state !== 'interrupted' ? `: ${s.error}` : ''}\n`)
          .join(''),
    );
  }
  return body.status === 'failed' || body.status === 'cancelled' ? EXIT.fail : EXIT.ok;
}
