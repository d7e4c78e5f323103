// Requests of the CLI's REST client (apply --server, status). http:// goes through the global fetch; https:// through
// node:https, so that the server can be trusted by a CA or certificate file (--ca-file) and/or by its certificate's
// SHA-256 fingerprint (--tls-fingerprint): the pin is checked after the handshake and before the request is written,
// so the bearer token never reaches a server with another certificate. The answer is a standard Response either way
// (the event stream is read from its body the same way).
import { Agent, request, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';

export interface ClientTls {
  /** PEM: the CA (or the server's self-signed certificate itself) to trust instead of the system's */
  ca?: string;
  /** the server certificate's SHA-256 fingerprint, "AB:CD:..." (normalizeFingerprint) */
  fingerprint?: string;
}

/** The server's certificate is not the pinned one, or not trusted: retrying cannot help. */
export class TlsTrustError extends Error {}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export function serverFetch(url: string, init: RequestInit, tls: ClientTls = {}): Promise<Response> {
  if (!url.startsWith('https:')) return fetch(url, init);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent: new TrustingAgent(tls), ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 502;
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, one);
      if ([101, 204, 205, 304].includes(status) || init.method === 'HEAD') {
        res.resume();
        resolve(new Response(null, { status, headers }));
      } else resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** One connection per request: verified by `ca` (or the system's CAs) unless only a fingerprint is given, then pinned. */
class TrustingAgent extends Agent {
  constructor(private readonly tls: ClientTls) {
    super({ keepAlive: false, ...(tls.ca ? { ca: tls.ca } : {}), rejectUnauthorized: !(tls.fingerprint && !tls.ca) });
  }

  override createConnection(options: RequestOptions, done?: (err: Error | null, stream: Duplex) => void): undefined {
    const socket: TLSSocket = connect(options as Parameters<typeof connect>[0]);
    const where = `${options.host ?? options.hostname}:${options.port}`;
    let settled = false;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) socket.destroy();
      done?.(err, socket);
    };
    socket.once('secureConnect', () => {
      const want = this.tls.fingerprint;
      if (!want) return settle(null);
      const got = socket.getPeerCertificate().fingerprint256;
      if (got === want) return settle(null);
      settle(new TlsTrustError(`TLS fingerprint mismatch for ${where}: the server presented sha256 Fingerprint=${got}, but --tls-fingerprint expects sha256 Fingerprint=${want}`));
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      const untrusted = typeof e.code === 'string' && /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_|ISSUER/.test(e.code);
      settle(untrusted ? new TlsTrustError(`the certificate of ${where} is not trusted (${e.code}: ${e.message}); give --ca-file FILE or --tls-fingerprint SHA256 (the server prints it when it makes its certificate)`) : e);
    });
    return undefined;
  }
}
