// Relative links in Markdown files must name files that exist: `node scripts/docs/check-links.mjs FILE|DIR...`
// (directories: every *.md below them). Links with a scheme (https:, mailto:) and pure #anchors are left alone; a
// link's own #anchor and ?query are dropped before the file is looked up. Exits 1 listing every broken link.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const markdownFiles = (p) =>
  statSync(p).isDirectory()
    ? readdirSync(p, { withFileTypes: true }).flatMap((e) => markdownFiles(join(p, e.name)))
    : p.endsWith('.md') ? [p] : [];

// [text](target) and [text](target "title"), outside fenced code blocks and inline code
const LINK = /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

const broken = [];
let checked = 0;
for (const file of process.argv.slice(2).flatMap(markdownFiles)) {
  let fenced = false;
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(LINK)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      checked++;
      const path = decodeURIComponent(target.replace(/[?#].*$/, ''));
      if (!existsSync(resolve(dirname(file), path))) broken.push(`${relative('.', file)}:${i + 1}: ${target}`);
    }
  });
}
if (broken.length) {
  console.error(`broken relative links (${broken.length}):\n${broken.join('\n')}`);
  process.exit(1);
}
console.log(`relative links: ${checked} checked, none broken`);
