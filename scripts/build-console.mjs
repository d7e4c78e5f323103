// Part of `npm run build`: the console's TypeScript modules (src/console/, type-checked by tsc for the browser:
// tsconfig.console.json) joined by esbuild into one minified ES module, dist/console/main.js, with the page, its
// stylesheet and icon beside it. One file because the page loads faster that way: the browser asks for the page, the
// stylesheet and one script, instead of 13 modules over HTTP/1.1's six connections (npm run bench: console). With
// --size it prints what a browser loads (gzipped).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/console');
// nothing left over from an earlier build is served
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, 'src/console/static'))) copyFileSync(join(root, 'src/console/static', f), join(out, f));
await build({
  entryPoints: [join(root, 'src/console/main.ts')],
  outfile: join(out, 'main.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const size = (ext) =>
  readdirSync(out)
    .filter((f) => f.endsWith(ext))
    .reduce((n, f) => n + gzipSync(readFileSync(join(out, f)), { level: 9 }).length, 0);
if (process.argv.includes('--size')) console.log(`console: ${(size('.js') / 1024).toFixed(1)} KiB of JavaScript, ${(size('.css') / 1024).toFixed(1)} KiB of CSS (gzip -9)`);
