// The documented REST API, as the console uses it: the bearer token from sessionStorage on every request, 401 back to
// the login view, errors in the API's one shape, and the event stream read with fetch() (EventSource cannot send the
// Authorization header), resumed with Last-Event-ID after a dropped connection.
import { SseParser } from './sse.js';
import { isTerminal, type InstallEvent } from './model.js';

const KEY = 'airgap-k8s.console.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  set: (token: string): void => sessionStorage.setItem(KEY, token),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** 401: the token is gone from the session and the login view shows (set by main.ts) */
export let onUnauthorized: () => void = () => {};
export const setOnUnauthorized = (f: () => void): void => {
  onUnauthorized = f;
};

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; code: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** A request with the session's token; throws Unauthorized (after onUnauthorized) or ApiError for non-2xx. */
export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const token = session.token();
  if (!token) {
    onUnauthorized();
    throw new Unauthorized('no token');
  }
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  const r = await fetch(path, { ...init, headers, cache: 'no-store', credentials: 'omit' });
  if (r.status === 401) {
    session.clear();
    onUnauthorized();
    throw new Unauthorized('401');
  }
  if (!r.ok) {
    const body = (await r.json().catch(() => undefined)) as { error?: { code?: string; message?: string; issues?: ApiError['issues'] } } | undefined;
    throw new ApiError(r.status, body?.error?.code ?? 'error', body?.error?.message ?? r.statusText, body?.error?.issues ?? []);
  }
  return r;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await call(path, init)).json()) as T;
}

/** The spec's media type: JSON when it looks like a JSON object, else YAML (JSON is YAML too). */
export const specType = (text: string): string => (/^\s*\{/.test(text) ? 'application/json' : 'application/yaml');

export type StreamState = 'live' | 'reconnecting' | 'done';

/**
 * Follow an install's events until its stream ends with a terminal status. `lastSeq()` is the last event the caller
 * has applied: every (re)connection asks for what comes after it (Last-Event-ID), and the caller drops any seq it
 * has seen. A stream that ends without a terminal status last (a dropped connection, a server restart) is
 * reconnected after the server's retry advice, then with backoff up to 10 s.
 */
export async function followEvents(
  id: string,
  lastSeq: () => number,
  on: { event(e: InstallEvent): void; state(s: StreamState): void },
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  let retry = 1000;
  while (!signal.aborted) {
    let lastWasTerminal = false;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (lastSeq() > 0) headers['Last-Event-ID'] = String(lastSeq());
      const r = await call(`/clusters/${encodeURIComponent(id)}/events`, { headers, signal });
      on.state('live');
      failures = 0;
      const parser = new SseParser();
      const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const m of parser.push(value)) {
          const e = JSON.parse(m.data) as InstallEvent;
          on.event(e);
          lastWasTerminal = e.type === 'status' && e.status !== undefined && isTerminal(e.status);
        }
        if (parser.retryMs !== undefined) retry = parser.retryMs;
      }
      if (lastWasTerminal) {
        on.state('done');
        return;
      }
    } catch (e) {
      if (e instanceof Unauthorized || signal.aborted) return;
      if (e instanceof ApiError && e.status === 404) return;
      failures++;
    }
    on.state('reconnecting');
    await new Promise((res) => setTimeout(res, Math.min(10_000, retry * 2 ** Math.max(0, failures - 1))));
  }
}
