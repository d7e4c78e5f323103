// What the console tier's files share: Debian's chromium launched by playwright-core, where screenshots go, and
// two checks on a page: axe-core's accessibility rules (serious and critical findings fail, each named by its rule
// and element) and whether the element with the keyboard focus shows it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SHOTS = resolve(import.meta.dirname, '../../test-results/console');
export const CHROMIUM = process.env.AIRGAP_K8S_CHROMIUM ?? '/usr/bin/chromium';

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });

let axeSource: string | undefined;

/**
 * Runs axe-core (every rule it runs by default: WCAG 2.x A and AA, contrast, names and labels, ARIA, best practices)
 * over the whole page as it is now, and returns one line per serious or critical finding: impact, rule, what it asks,
 * and each element (its selector and the start of its markup). The page's CSP forbids inline scripts, so axe's
 * source goes in through evaluate (the DevTools protocol), not a script tag.
 */
export async function accessibilityFindings(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    type Result = { id: string; impact: string | null; help: string; nodes: { target: unknown[]; html: string }[] };
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: Result[] }> } }).axe;
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id} (${v.help}): ${n.target.join(' ')} ${n.html.replace(/\s+/g, ' ').slice(0, 160)}`));
  });
}

/** The focused element, and whether it shows a focus ring (`:focus-visible` with an outline of 2 px or more). */
export function focusOf(page: Page): Promise<{ what: string; visible: boolean; contrast: number }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { what: 'body', visible: false, contrast: 0 };
    const cs = getComputedStyle(el);
    const what = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.dataset.key ? `[data-key=${el.dataset.key}]` : ''} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 50)}"`;
    // the ring against what it is drawn on (WCAG 1.4.11, non-text contrast): the first opaque background outside the
    // element, the ring's own alpha blended over it
    // any CSS colour (rgb(), color(srgb ...), oklch() ...) through a canvas pixel: [r, g, b] 0-255 and alpha 0-1
    const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;
    const rgba = (c: string): [number, number, number, number] => {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = c;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
      return [r!, g!, b!, a! / 255];
    };
    let bg: [number, number, number, number] = [255, 255, 255, 1];
    for (let p = el.parentElement; p; p = p.parentElement) {
      const c = rgba(getComputedStyle(p).backgroundColor);
      if (c[3] > 0) {
        bg = c;
        break;
      }
    }
    const [r, g, b, a] = rgba(cs.outlineColor);
    const ring = [r, g, b].map((v, i) => v * a + bg[i]! * (1 - a));
    const lum = (c: number[]) => c.map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i]!, 0);
    const [hi, lo] = [lum(ring), lum(bg.slice(0, 3))].sort((x, y) => y - x);
    return { what, visible: el.matches(':focus-visible') && cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2, contrast: (hi! + 0.05) / (lo! + 0.05) };
  });
}
