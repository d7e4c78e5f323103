// npm run bench (REST service part): the real server in a child process (so the clients here do not share its
// event loop), over loopback.
// - POST /clusters?dryRun=true: latency p50/p99 and throughput for a bounded number of requests, 8 in flight, each a
//   different cluster (one cluster has one install at a time): half one at a time (latency), half 8 in flight
//   (throughput). The dry-run executor waits 60 s before its first
//   command, so the installs sit idle after their start and the numbers are the request path itself (reserve a
//   place, validate in the worker pool, commit, 202), with the starts of earlier installs (secrets, render, plan in
//   the pool) going on meanwhile; a 429 is counted and retried after its Retry-After. The installs are cancelled
//   afterwards. Each cluster's secrets file is made up front: the first install of a new cluster also makes its CA
//   (measured separately with the time until its plan is stored: ECDSA-P256, the default, and RSA-2048 named in the spec).
// - A burst: 50 POST /clusters?dryRun=true at once, each a new cluster (no secrets file: each install makes its CA),
//   as a client sees it: p50/p99 of the answers, how many 202 and 429, and /healthz polled all along (from the burst
//   until every accepted install has finished) with its p50/p99. The installs run to their end (no delay).
// - SSE fan-out: 100 subscribers follow one dry-run install (1 ms per command) from POST to its final event.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { followEvents } from '../src/cli/remote.js';
import { goal } from './goals.js';
import { percentile } from './stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'bench-token-0123456789abcdef0123';
const H = { authorization: `Bearer ${TOKEN}` };
const SPEC = readFileSync(join(ROOT, 'fixtures/valid-runbook-ha.yaml'), 'utf8');
const named = (name: string) => SPEC.replace(/^(metadata:\s*\n\s+name:\s*)\S+/m, `$1${name}`);

interface Server {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** the server's log so far (JSON lines) */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Node flags for the server, from AIRGAP_K8S_BENCH_SERVER_FLAGS (split on spaces): how the service is profiled under
 * this load, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (a profile per thread: the loop and each pool thread).
 */
const serverFlags = () => (process.env.AIRGAP_K8S_BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);

async function startServer(dataDir: string, delayMs: number): Promise<Server> {
  const child = spawn(process.execPath, [...serverFlags(), '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, AIRGAP_K8S_LISTEN: '127.0.0.1:0', AIRGAP_K8S_DATA_DIR: dataDir, AIRGAP_K8S_TOKEN: TOKEN, AIRGAP_K8S_EXECUTOR: 'dry-run', AIRGAP_K8S_DRYRUN_DELAY_MS: String(delayMs) },
  });
  let err = '';
  child.stdout.resume();
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"listening","url":"([^"]+)"/.exec(err);
      if (m) {
        child.stderr.off('data', onData);
        child.stderr.on('data', (x: Buffer) => (err += x.toString())); // keep the request log
        resolve(m[1]!);
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err.slice(-2000)}`)));
  });
  return {
    url,
    child,
    log: () => err,
    stop: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

function seedSecrets(dataDir: string, names: string[]): void {
  mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
  for (const n of names) copyFileSync(join(ROOT, 'fixtures/secrets/test-secrets.yaml'), join(dataDir, 'secrets', `${n}.secrets.yaml`));
}

/** The handler's own time of each accepted POST /clusters in the server's request log, sorted. */
const handlerTimes = (log: string) => [...log.matchAll(/"method":"POST","path":"\/clusters","status":202,"ms":([\d.]+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);

const pct = percentile;

/** Resolves once install `id` has its plan stored (its start made: secrets, render, plan); fails after 60 s. */
async function planStored(server: Server, id: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while ((await fetch(`${server.url}/clusters/${id}/plan`, { headers: H }).then(async (x) => (await x.arrayBuffer(), x.status))) !== 200) {
    if (performance.now() > deadline) throw new Error(`install ${id} has no plan after 60 s: ${server.log().slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

async function benchPosts(requests: number, inFlight: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  const names = Array.from({ length: requests }, (_, i) => `bench-${i}`);
  seedSecrets(dataDir, names);
  const server = await startServer(dataDir, 60_000);
  try {
    let busy = 0;
    // a 429 (more starts asked for than the worker pool keeps up with) is counted, and the client does what it says:
    // waits Retry-After and posts again; the latency is the accepted request's own
    const post = async (name: string, spec = named(name)): Promise<{ ms: number; id: string }> => {
      const t = performance.now();
      const r = await fetch(`${server.url}/clusters?dryRun=true`, { method: 'POST', body: spec, headers: { ...H, 'content-type': 'application/yaml' } });
      const body = (await r.json()) as { id: string };
      if (r.status === 429) {
        busy++;
        await new Promise((res) => setTimeout(res, Number(r.headers.get('retry-after') ?? 1) * 1000));
        return post(name);
      }
      if (r.status !== 202) throw new Error(`POST ${name}: ${r.status} ${JSON.stringify(body)}`);
      return { ms: performance.now() - t, id: body.id };
    };
    // warm up (module JIT, statement cache) on a few clusters outside the measurement, until each of their plans is
    // stored: their starts are the render thread's first renders and plans, with its code still cold (measured while
    // they still ran, the first requests of the round took 10-30 ms, their validations 7-8 ms against 1-3 ms after)
    const warm = Array.from({ length: 5 }, (_, i) => `warm-${i}`);
    seedSecrets(dataDir, warm);
    const warmIds = [];
    for (const n of warm) warmIds.push((await post(n)).id);
    for (const id of warmIds) await planStored(server, id);

    const ids: string[] = [...warmIds];
    const round = async (label: string, batch: string[], inFlight: number) => {
      const logFrom = server.log().length;
      const busyFrom = busy;
      const times: number[] = [];
      const queue = [...batch];
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          for (let n = queue.shift(); n; n = queue.shift()) {
            const r = await post(n);
            times.push(r.ms);
            ids.push(r.id);
          }
        }),
      );
      const wall = performance.now() - t0;
      times.sort((a, b) => a - b);
      // the handler's own time, from the server's request log (reserve, validate in the pool, commit, answer)
      const handler = handlerTimes(server.log().slice(logFrom));
      console.log(
        `${`POST /clusters?dryRun=true x${batch.length} (${label})`.padEnd(44)} p50 ${pct(times, 50).toFixed(1).padStart(8)} ms   p99 ${pct(times, 99).toFixed(1).padStart(8)} ms   max ${times.at(-1)!.toFixed(1).padStart(7)} ms   ${(batch.length / (wall / 1000)).toFixed(1)} req/s   (handler p50 ${handler.length ? pct(handler, 50).toFixed(1) : '?'} ms${busy > busyFrom ? `; 429 x${busy - busyFrom}, retried after Retry-After` : ''})`,
      );
      return pct(times, 99);
    };
    goal('POST dryRun, one at a time: p99', await round('one at a time', names.slice(0, requests / 2), 1), 20, 'max');
    goal(`POST dryRun, ${inFlight} in flight: p99`, await round(`${inFlight} in flight`, names.slice(requests / 2), inFlight), 50, 'max');

    // the first install of a cluster without a secrets file: its CA is made (in the worker pool, after the 202), of
    // the default algorithm and of RSA-2048 named in the spec; the answer and the time until its plan is stored
    // (secrets + render + plan) are measured apart
    const fresh = async (label: string, n: number, body: (name: string) => string) => {
      const logFrom = server.log().length;
      const times: number[] = [];
      const planned: number[] = [];
      for (let i = 0; i < n; i++) {
        const name = `fresh-${label.toLowerCase()}-${i}`;
        const t = performance.now();
        const r = await post(name, body(name));
        times.push(r.ms);
        ids.push(r.id);
        await planStored(server, r.id);
        planned.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      planned.sort((a, b) => a - b);
      const handler = handlerTimes(server.log().slice(logFrom));
      console.log(
        `${`POST /clusters, new cluster (${label} CA)`.padEnd(44)} p50 ${pct(times, 50).toFixed(1).padStart(8)} ms   max ${times.at(-1)!.toFixed(1).padStart(7)} ms   x${n}   (handler p50 ${handler.length ? pct(handler, 50).toFixed(1) : '?'} ms; plan stored after p50 ${pct(planned, 50).toFixed(1)} ms: the CA, render and plan)`,
      );
      return pct(times, 50);
    };
    goal('POST, new cluster (ECDSA-P256 CA): p50', await fresh('ECDSA-P256', 11, named), 30, 'max');
    await fresh('RSA-2048', 5, (name) => named(name).replace(/^ {2}controlPlane:\n/m, '$&    pki: {encryptionAlgorithm: RSA-2048}\n'));

    const tc = performance.now();
    await Promise.all(ids.map((id) => fetch(`${server.url}/clusters/${id}/cancel`, { method: 'POST', headers: H }).then((r) => r.arrayBuffer())));
    console.log(`${`POST /clusters/{id}/cancel x${ids.length}`.padEnd(44)} ${(performance.now() - tc).toFixed(0).padStart(12)} ms total`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchBurst(requests: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-burst-'));
  const server = await startServer(dataDir, 0);
  try {
    // warm up outside the measurement: a few validations (JIT; the worker pool's threads loaded), then a pause
    await Promise.all(Array.from({ length: 4 }, async () => (await fetch(`${server.url}/validate`, { method: 'POST', body: named('warm'), headers: { ...H, 'content-type': 'application/yaml' } })).arrayBuffer()));
    await new Promise((r) => setTimeout(r, 1000));
    const health: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        await (await fetch(`${server.url}/healthz`)).arrayBuffer();
        health.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        const t = performance.now();
        const r = await fetch(`${server.url}/clusters?dryRun=true`, { method: 'POST', body: named(`burst-${i}`), headers: { ...H, 'content-type': 'application/yaml' } });
        const body = (await r.json()) as { id?: string };
        return { ms: performance.now() - t, status: r.status, id: body.id, retryAfter: r.headers.get('retry-after') };
      }),
    );
    const healthDuringBurst = health.length;
    const ids = new Set(answers.filter((a) => a.status === 202).map((a) => a.id!));
    const statuses = new Map<string, string>();
    for (;;) {
      const list = (await (await fetch(`${server.url}/clusters?limit=1000`, { headers: H })).json()) as { items: { id: string; status: string }[] };
      for (const x of list.items) if (ids.has(x.id)) statuses.set(x.id, x.status);
      if ([...ids].every((id) => ['succeeded', 'failed', 'cancelled'].includes(statuses.get(id) ?? ''))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const allDone = performance.now() - t0;
    probing = false;
    await probe;
    const times = answers.map((a) => a.ms).sort((a, b) => a - b);
    const hz = [...health].sort((a, b) => a - b);
    const count = (s: number) => answers.filter((a) => a.status === s).length;
    const other = answers.filter((a) => a.status !== 202 && a.status !== 429).map((a) => a.status);
    const failed = [...statuses.values()].filter((s) => s !== 'succeeded').length;
    console.log(
      `${`POST /clusters?dryRun=true x${requests} at once, new`.padEnd(44)} p50 ${pct(times, 50).toFixed(1).padStart(8)} ms   p99 ${pct(times, 99).toFixed(1).padStart(8)} ms   ` +
        `202 x${count(202)}, 429 x${count(429)}${other.length ? `, OTHER ${other.join(',')}` : ''}; all accepted finished after ${allDone.toFixed(0)} ms${failed ? ` (${failed} NOT succeeded)` : ''}`,
    );
    console.log(
      `${'  /healthz meanwhile (every 10 ms)'.padEnd(44)} p50 ${pct(hz, 50).toFixed(1).padStart(8)} ms   p99 ${pct(hz, 99).toFixed(1).padStart(8)} ms   max ${hz.at(-1)!.toFixed(1).padStart(7)} ms   (${hz.length} answers, ${healthDuringBurst} during the burst itself)`,
    );
    goal(`burst of ${requests} new clusters: POST p99`, pct(times, 99), 1000, 'max');
    goal('  /healthz during it: p99', pct(hz, 99), 20, 'max');
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchFanOut(subscribers: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-sse-'));
  seedSecrets(dataDir, ['fanout']);
  const server = await startServer(dataDir, 1);
  try {
    const t0 = performance.now();
    const r = await fetch(`${server.url}/clusters?dryRun=true`, { method: 'POST', body: named('fanout'), headers: { ...H, 'content-type': 'application/yaml' } });
    const { id } = (await r.json()) as { id: string };
    const follow = async () => {
      let events = 0;
      const final = await followEvents({ server: server.url, token: TOKEN, id, onEvent: () => events++ });
      if (!final) throw new Error('stream ended without a final status');
      return { received: Date.now(), at: Date.parse(final.at), events, finishedMs: performance.now() - t0 };
    };
    const results = await Promise.all(Array.from({ length: subscribers }, follow));
    const lags = results.map((x) => x.received - x.at).sort((a, b) => a - b);
    const all = Math.max(...results.map((x) => x.finishedMs));
    const events = results[0]!.events;
    console.log(
      `${`SSE fan-out: ${subscribers} subscribers, 1 install`.padEnd(44)} all got the final event ${all.toFixed(0)} ms after POST; final event lag p50 ${pct(lags, 50)} ms, max ${lags.at(-1)} ms; ${events} events each (${subscribers * events} delivered)`,
    );
    if (results.some((x) => x.events !== events)) throw new Error('subscribers saw different event counts');
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchApi(o: { requests?: number; inFlight?: number; burst?: number; subscribers?: number } = {}): Promise<void> {
  await benchPosts(o.requests ?? 200, o.inFlight ?? 8);
  await benchBurst(o.burst ?? 50);
  await benchFanOut(o.subscribers ?? 100);
}
