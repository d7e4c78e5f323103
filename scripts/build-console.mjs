// Part of `npm run build`: tsc has compiled src/console/*.ts into dist/console/*.js (browser ES modules); this copies
// the page, its stylesheet and icon beside them, lists every module in the page as a modulepreload (one round of
// requests instead of one per level of imports), and with --size prints what a browser loads (gzipped).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/console');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, 'src/console/static'))) copyFileSync(join(root, 'src/console/static', f), join(out, f));
const modules = readdirSync(out).filter((f) => f.endsWith('.js') && f !== 'main.js').sort();
const page = readFileSync(join(out, 'index.html'), 'utf8');
const marker = /^<!-- modulepreload:.*-->$/m;
if (!marker.test(page)) throw new Error('src/console/static/index.html lacks its modulepreload marker');
writeFileSync(join(out, 'index.html'), page.replace(marker, modules.map((m) => `<link rel="modulepreload" href="/console/${m}">`).join('\n')));
const size = (ext) =>
  readdirSync(out)
    .filter((f) => f.endsWith(ext))
    .reduce((n, f) => n + gzipSync(readFileSync(join(out, f)), { level: 9 }).length, 0);
if (process.argv.includes('--size')) console.log(`console: ${(size('.js') / 1024).toFixed(1)} KiB of JavaScript, ${(size('.css') / 1024).toFixed(1)} KiB of CSS (gzip -9)`);
