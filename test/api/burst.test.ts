// A burst of new installs (issue 13, behaviour only, bounded: 50 requests): each gets 202 or 429 with Retry-After,
// none a 5xx; /healthz answers throughout; no job is lost (every 202 becomes an install that finishes) and a refused
// request leaves no record behind. Real CAs are made (no seeded secrets), over real HTTP on loopback.
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, specNamed, TOKEN, type Harness } from './harness.js';

let h: Harness | undefined;
let server: ServerType | undefined;
afterEach(async () => {
  server?.close();
  await h?.close();
});

describe('a burst of 50 POST /clusters?dryRun=true for new clusters', () => {
  it('202 or 429 + Retry-After for each, no 5xx, /healthz answering throughout, every 202 finished, no record from a 429', async () => {
    h = harness();
    server = await new Promise<ServerType>((res) => {
      const s = serve({ fetch: h!.app.fetch, hostname: '127.0.0.1', port: 0 }, () => res(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let bursting = true;
    const health: number[] = [];
    const probe = (async () => {
      while (bursting) {
        health.push((await fetch(`${url}/healthz`)).status);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await fetch(`${url}/clusters?dryRun=true`, {
          method: 'POST',
          body: specNamed(`burst-${i}`),
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
        });
        const body = (await r.json()) as { id?: string; error?: { code: string } };
        return { status: r.status, retryAfter: r.headers.get('retry-after'), id: body.id, code: body.error?.code };
      }),
    );
    bursting = false;
    await probe;
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    console.log(`[burst] ${accepted.length} accepted, ${refused.length} refused (429), ${health.length} /healthz answers during the burst`);
    expect(accepted.length + refused.length, JSON.stringify(answers.filter((a) => a.status !== 202 && a.status !== 429))).toBe(50);
    expect(accepted.length).toBeGreaterThan(0);
    for (const r of refused) expect([r.code, Number(r.retryAfter) > 0]).toEqual(['busy', true]);
    expect(health.length).toBeGreaterThan(0);
    expect(health.filter((s) => s !== 200)).toEqual([]);
    await h.jobs.idle();
    const records = h.store.list({ limit: 1000 });
    expect(records.map((r) => r.id).sort()).toEqual(accepted.map((a) => a.id).sort());
    expect(records.filter((r) => r.status !== 'succeeded').map((r) => `${r.name}: ${r.status} ${r.error ?? ''}`)).toEqual([]);
  }, 120_000);
});
