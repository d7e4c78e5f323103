// GET /console and its files (issue 15): public static files with a CSP that allows this origin's scripts, styles
// and connections only; only what the build put there, by name; a clear 503 when the console is not built. The
// browser tests of the page itself are the console tier (test/console/).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/api/console.js';
import { harness, type Harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('GET /console', () => {
  it('serves the page and its files without a token, with the console\'s CSP and the service\'s headers', async () => {
    h = harness();
    const page = await h.app.request('/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('/console/main.js');
    for (const [path, type] of [
      ['/console/main.js', 'text/javascript; charset=utf-8'],
      ['/console/console.css', 'text/css; charset=utf-8'],
    ] as const) {
      const r = await h.app.request(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toBe(type);
    }
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // no request of the console's files was refused, counted as a failure or audited
    expect(h.access.auditAfter(0, 10)).toEqual([]);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    h = harness();
    const r = await h.app.request('/console/main.js');
    const etag = r.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect((await h.app.request('/console/main.js', { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await h.app.request('/console/main.js', { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
  });

  it('serves only the built files by name: no other name, no path, no other method', async () => {
    h = harness();
    for (const path of ['/console/nope.js', '/console/index.html', '/console/main.js.map', '/console/..%2Fairgap-k8s.db', '/console/%2e%2e%2fpackage.json', '/console/Main.js']) {
      const r = await h.app.request(path);
      expect(r.status, path).toBe(404);
      expect(await r.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    // deeper paths are not the console's: the service's 404, which needs a token like any unknown path
    expect((await h.app.request('/console/a/main.js')).status).toBe(401);
    const post = await h.app.request('/console', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('503 console_not_built when the build did not make it', async () => {
    h = harness({ consoleDir: mkdtempSync(join(tmpdir(), 'no-console-')) });
    const r = await h.app.request('/console');
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ error: { code: 'console_not_built' } });
  });
});
