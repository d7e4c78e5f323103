// The console tier's service: the API tier's harness (real SQLite store, real jobs, dry-run executors whose
// answers a test steers) with the REAL built console (dist/console), served over HTTP on loopback so a real browser
// can load it. Steering: a delay per command (so an install runs long enough to watch and cancel) and a failing
// host (the prepare-os script fails there, as a missing kernel module would).
import { serve, type ServerType } from '@hono/node-server';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DryRunExecutor } from '../../src/executors/dry-run/dry-run.js';
import { DelayedExecutor } from '../../src/install/executors.js';
import { secretValues } from '../../src/runner/redact.js';
import { parseSecrets } from '../../src/secrets/secrets.js';
import { harness, type Harness } from '../api/harness.js';

export const CONSOLE_DIR = resolve(import.meta.dirname, '../../dist/console');

export interface ConsoleService {
  h: Harness;
  url: string;
  server: ServerType;
  /** what the next install's executors do: ms before each command, the host whose prepare-os fails */
  knobs: { delayMs: number; failHost: string | null };
  /** every request's method, path and Last-Event-ID header (none: '') */
  requests: { method: string; path: string; lastEventId: string }[];
  /** every secret value of every cluster the service has made secrets for */
  secrets(): string[];
  close(): Promise<void>;
}

export async function startConsoleService(): Promise<ConsoleService> {
  if (!existsSync(join(CONSOLE_DIR, 'main.js'))) throw new Error(`${CONSOLE_DIR} is not built: npm run build (scripts/setup-console.sh does)`);
  const knobs: ConsoleService['knobs'] = { delayMs: 0, failHost: null };
  let h!: Harness;
  const secrets = () => {
    const out: string[] = [];
    for (const name of ['gpu-prod', 'gpu-single', 'gpu-cancel']) {
      const f = join(h.secretsDir, `${name}.secrets.yaml`);
      if (!existsSync(f)) continue;
      const p = parseSecrets(readFileSync(f, 'utf8'));
      if (p.ok) out.push(...secretValues(p.secrets));
    }
    return out;
  };
  h = harness({
    consoleDir: CONSOLE_DIR,
    makeExecutor: (_kind, host, clusterSecrets) => {
      const failHost = knobs.failHost;
      const [token, , certKey] = secretValues(clusterSecrets);
      const dry = new DryRunExecutor({
        host: host.name,
        respond: (argv) => {
          const cmd = argv.join(' ');
          // kubeadm init prints the join command with the bootstrap token and the certificate key: the service
          // must redact them before anything reaches the page
          if (/(^| )kubeadm init /.test(cmd)) {
            return { stdout: `[init] Using Kubernetes version: v1.34.3\nYou can now join any number of control-plane nodes:\n  kubeadm join 55.192.0.1:6553 --token ${token} --certificate-key ${certKey}\n` };
          }
          if (host.name === failHost && cmd.includes('prepare-os.sh')) return { exitCode: 1, stderr: 'modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/4.18.0-513.el8.x86_64\n' };
          return undefined;
        },
      });
      return knobs.delayMs > 0 ? new DelayedExecutor(dry, knobs.delayMs) : dry;
    },
  });
  const requests: ConsoleService['requests'] = [];
  const server: ServerType = await new Promise((res) => {
    const s = serve(
      {
        fetch: (req: Request) => {
          requests.push({ method: req.method, path: new URL(req.url).pathname, lastEventId: req.headers.get('last-event-id') ?? '' });
          return h.app.fetch(req);
        },
        hostname: '127.0.0.1',
        port: 0,
      },
      () => res(s),
    );
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    h,
    url,
    server,
    knobs,
    requests,
    secrets,
    async close() {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      await new Promise((r) => server.close(r));
      await h.close();
    },
  };
}
