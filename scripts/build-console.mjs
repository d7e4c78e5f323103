// Part of `npm run build`: tsc has compiled src/console/*.ts into dist/console/*.js (browser ES modules); this copies
// the page and its stylesheet beside them, and prints the size of what a browser loads (gzipped, as it travels).
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/console');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, 'src/console/static'))) copyFileSync(join(root, 'src/console/static', f), join(out, f));
const size = (ext) =>
  readdirSync(out)
    .filter((f) => f.endsWith(ext))
    .reduce((n, f) => n + gzipSync(readFileSync(join(out, f)), { level: 9 }).length, 0);
if (process.argv.includes('--size')) console.log(`console: ${(size('.js') / 1024).toFixed(1)} KiB of JavaScript, ${(size('.css') / 1024).toFixed(1)} KiB of CSS (gzip -9)`);
