// `airgap-k8s serve`: the REST service in the foreground until SIGINT/SIGTERM. Installs still running when it
// stops are left `running` in the database and resume from their journal at the next start.
import { resolveConfig, type ServeFlags } from '../api/config.js';
import { lowerOtherThreads } from '../api/priority.js';
import { importForFeature } from '../optional.js';

/** serve's HTTPS options (ENV_HELP describes them). */
export const SERVE_TLS_OPTIONS = { 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'insecure-http': { type: 'boolean' } } as const;

export async function serveCommand(values: Record<string, unknown>, io: { stderr(s: string): void; cwd: string }): Promise<number> {
  const r = resolveConfig(process.env, values as ServeFlags, io.cwd);
  if (!r.ok) {
    io.stderr(`airgap-k8s serve: ${r.errors.join('\nairgap-k8s serve: ')}\n`);
    return 2;
  }
  // loaded here, not at the top of commands.ts: the other commands do not need SQLite or an HTTP server
  // (optional dependencies: their absence is one line naming what to install, src/optional.ts)
  let server;
  // the process is the service's alone: V8's and libuv's helper threads yield to the loop (../api/priority.ts)
  lowerOtherThreads();
  try {
    const { startServer } = await importForFeature('the REST service (airgap-k8s serve, airgap-k8s/api)', () => import('../api/server.js'));
    server = await startServer(r.config);
  } catch (e) {
    io.stderr(`airgap-k8s serve: ${(e as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
