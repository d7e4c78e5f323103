// GET /console and its assets: the operator's web page (src/console/, built into dist/console/ by `npm run build`).
// Public static files: the page holds no data; everything it shows comes from the REST API with the bearer token the
// operator pastes. Only files the build put there are served (names checked, never a path from the request), from
// memory, with a CSP that allows scripts, styles and connections to this origin only.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { errorBody } from './errors.js';

/** dist/console of this package: two levels above both src/api/console.ts and dist/api/console.js */
export const defaultConsoleDir = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/console');

export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', html: 'text/html; charset=utf-8' };
const ASSET = /^[a-z0-9-]+\.(js|css|svg)$/;

interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

function load(dir: string): Map<string, Asset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, Asset>();
  for (const name of ['index.html', ...readdirSync(dir).filter((n) => ASSET.test(n))]) {
    const body = readFileSync(join(dir, name));
    files.set(name, { body: new Uint8Array(body), type: TYPES[name.split('.').pop()!]!, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return files;
}

export function consoleApp(dir: string = defaultConsoleDir()) {
  const app = new Hono();
  let files: Map<string, Asset> | undefined;
  const serve = (name: string) => (c: import('hono').Context) => {
    files ??= load(dir);
    if (!files) return c.json(errorBody('console_not_built', 'the console is not built here: run npm run build'), 503);
    const f = files.get(name);
    if (!f) return c.json(errorBody('not_found', `no console file ${name.slice(0, 100)}`), 404);
    c.header('Content-Security-Policy', CONSOLE_CSP);
    c.header('ETag', f.etag);
    // the page and its scripts change together: revalidate each time (a 304 costs a round trip on loopback)
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === f.etag) return c.body(null, 304);
    return c.body(f.body as never, 200, { 'Content-Type': f.type });
  };
  app.get('/console', serve('index.html'));
  app.get('/console/:file', (c) => {
    const name = c.req.param('file');
    return serve(ASSET.test(name) ? name : '')(c);
  });
  return app;
}
