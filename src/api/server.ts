// The running service: data directory, token, SQLite store, jobs (picking up interrupted installs), the hono app
// on @hono/node-server's request listener, liveness first (./turns.ts). `airgap-k8s serve` calls startServer and stops it on SIGINT/SIGTERM.
import { getRequestListener } from '@hono/node-server';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { ensureToken, type ServiceConfig } from './config.js';
import type { Jobs } from './jobs.js';
import { jsonLogger, type Logger } from './log.js';
import { openService } from './service.js';
import type { Store } from './store.js';
import { ensureServerCert, fingerprintLine } from './tls.js';
import { livenessFirst } from './turns.js';

/** A listening REST service: its URL, its store and jobs, and how to stop it. */
export interface RunningServer {
  url: string;
  store: Store;
  jobs: Jobs;
  /** stop accepting, end event streams, stop installs for a later resume, close the database */
  close(): Promise<void>;
}

/**
 * Starts the REST service as `airgap-k8s serve` does: makes the data directory and the token (printed once through
 * `announce` when generated), opens the store, resumes unfinished installs and listens (TLS with a generated
 * certificate when not on loopback).
 */
export async function startServer(
  config: ServiceConfig,
  opts: { log?: Logger; announce?: (line: string) => void } = {},
): Promise<RunningServer> {
  const log = opts.log ?? jsonLogger();
  const announce = opts.announce ?? ((l: string) => process.stderr.write(l));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const token = ensureToken(config.token);
  if (!token.ok) throw new Error(token.error);
  if (token.generated && config.token.kind === 'generated') {
    // the only time the token is shown: it is not logged, and later starts read it from the file
    announce(`airgap-k8s: generated an API token, stored in ${config.token.file} (mode 0600); it is shown only now:\n${token.token}\n`);
  }
  const { app, store, jobs, recover } = openService(config, { token: token.token, log });
  const tls = await tlsMaterial(config, log, announce);
  // @hono/node-server's listener, behind the turns of ./turns.ts (liveness first)
  const listener = livenessFirst(getRequestListener(app.fetch, { hostname: config.host }));
  const server: Server = await new Promise((resolveServer, reject) => {
    const s = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
    s.once('error', reject);
    s.listen(config.port, config.host, () => resolveServer(s));
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${addr.port}`;
  log.info('listening', {
    url,
    dataDir: config.dataDir,
    executor: config.defaultExecutor,
    dryRunDelayMs: config.dryRunDelayMs,
    ...(tls ? { tlsCert: tls.certFile, tlsFingerprint: tls.fingerprint } : {}),
  });

  const resumed = await recover();
  if (resumed > 0) log.info('recovered', { installs: resumed });

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    jobs,
    close: () =>
      (closing ??= (async () => {
        log.info('stopping', {});
        const closed = new Promise<void>((r) => server.close(() => r()));
        await jobs.shutdown();
        if ('closeAllConnections' in server) server.closeAllConnections();
        await closed;
        store.close();
        log.info('stopped', {});
      })()),
  };
}

/** The certificate and key to serve HTTPS with, or undefined for plain HTTP (announced as insecure off loopback). */
async function tlsMaterial(
  config: ServiceConfig,
  log: Logger,
  announce: (line: string) => void,
): Promise<{ cert: string; key: string; certFile: string; fingerprint: string } | undefined> {
  const t = config.tls;
  if (t.kind === 'off') {
    if (t.insecure) {
      announce(`airgap-k8s: WARNING: serving plain HTTP on ${config.host} (--insecure-http): the API token and every spec cross the network readable by anyone on the path\n`);
      log.info('insecure http', { host: config.host });
    }
    return undefined;
  }
  if (t.kind === 'files') {
    const cert = readFileSync(t.certFile, 'utf8');
    return { cert, key: readFileSync(t.keyFile, 'utf8'), certFile: t.certFile, fingerprint: fingerprintLine(cert) };
  }
  const made = await ensureServerCert(t.dir, config.host, { hostname: hostname(), interfaces: networkInterfaces() });
  const fingerprint = fingerprintLine(made.cert);
  if (made.generated) {
    // not a secret: clients compare it (--tls-fingerprint) or trust the certificate file itself (--ca-file)
    announce(
      `airgap-k8s: generated a self-signed TLS certificate, ${made.certFile} (key ${made.keyFile}, mode 0600). ` +
        `Clients pin it with --tls-fingerprint or trust it with --ca-file ${made.certFile}:\n${fingerprint}\n`,
    );
    log.info('tls certificate generated', { file: made.certFile, fingerprint });
  }
  return { cert: made.cert, key: made.key, certFile: made.certFile, fingerprint };
}
