import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { livenessFirst } from './turns.js';

const turn = () => new Promise((r) => setImmediate(r));
const req = (method: string, url: string) => ({ method, url }) as IncomingMessage;
const res = {} as ServerResponse;

describe('requests in turns', () => {
  it('answers GET /healthz at once; every other request waits its turn, one per turn of the loop, in arrival order', async () => {
    const handled: string[] = [];
    const listener = livenessFirst((r) => handled.push(`${r.method} ${r.url}`));
    for (const n of [1, 2, 3]) listener(req('POST', `/clusters?n=${n}`), res);
    listener(req('GET', '/healthz'), res);
    listener(req('GET', '/healthz?probe=lb'), res);
    listener(req('GET', '/healthzz'), res);
    expect(handled).toEqual(['GET /healthz', 'GET /healthz?probe=lb']);
    await turn();
    expect(handled.slice(2)).toEqual(['POST /clusters?n=1']);
    // a probe read between two turns goes before the requests still waiting
    listener(req('GET', '/healthz'), res);
    await turn();
    expect(handled.slice(3)).toEqual(['GET /healthz', 'POST /clusters?n=2']);
    await turn();
    await turn();
    expect(handled.slice(5)).toEqual(['POST /clusters?n=3', 'GET /healthzz']);
    // idle again: the next request starts a new round
    listener(req('POST', '/validate'), res);
    await turn();
    expect(handled.at(-1)).toBe('POST /validate');
  });
});
