// The console with the keyboard alone, and axe-core over every main view (issue 15: keyboard navigation, labels,
// contrast). The walk: log in, open an install from the list, open a cell of its grid and one of its steps, close
// them again with Escape, and cancel the install through its confirmation (Escape keeps it running) — Tab, Shift+Tab,
// Enter, Space and Escape only, every focused control showing its focus ring at 3:1 or more against the background
// it is drawn on (WCAG 1.4.11). Then axe on the login, the list (also
// filtered), validation with warnings and with errors, a running, a failed, a succeeded and a cancelled install,
// a step's detail (failed, with output, interrupted), the delete confirmation, and the list and an install in 中文:
// serious or critical findings fail, each named by rule and element. Screenshots: test-results/console/a11y-*.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN, specNamed, until } from '../api/harness.js';
import { FIXTURES } from '../support/fixtures.js';
import { accessibilityFindings, focusOf, launchChromium, SHOTS } from './browser.js';
import { startConsoleService, type ConsoleService } from './serve.js';

const HA = readFileSync(join(FIXTURES, 'valid-runbook-ha.yaml'), 'utf8');
const SINGLE = readFileSync(join(FIXTURES, 'valid-runbook-single.yaml'), 'utf8');

let svc: ConsoleService;
let browser: Browser;
let page: Page;
let okId = '';
let failedId = '';

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `a11y-${name}.png`) });
const start = async (spec: string) => ((await (await svc.h.post('/clusters?dryRun=true', spec)).json()) as { id: string }).id;
const focused = (selector: string) => page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
const expectFocus = async (selector: string) => {
  const f = await focusOf(page);
  expect(await focused(selector), `focus on ${f.what}, not ${selector}`).toBe(true);
  expect(f.visible, `the focus on ${f.what} is not visible`).toBe(true);
  expect(f.contrast, `the focus ring on ${f.what} against its background`).toBeGreaterThanOrEqual(3);
};
/** Tab (or Shift+Tab) until `selector` has the focus; every control passed on the way must show its focus. */
async function tabTo(selector: string, o: { back?: boolean; max?: number } = {}): Promise<void> {
  const key = o.back ? 'Shift+Tab' : 'Tab';
  for (let i = 0; i < (o.max ?? 40); i++) {
    await page.keyboard.press(key);
    const f = await focusOf(page);
    expect(f.visible, `after ${key}: the focus on ${f.what} is not visible`).toBe(true);
    expect(f.contrast, `after ${key}: the focus ring on ${f.what} against its background`).toBeGreaterThanOrEqual(3);
    if (await focused(selector)) return;
  }
  throw new Error(`${selector} not reached with ${o.max ?? 40} presses of ${key}`);
}
const expectAccessible = async (view: string) => expect(await accessibilityFindings(page), view).toEqual([]);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  svc = await startConsoleService();
  svc.knobs.failHost = 'node1';
  failedId = await start(SINGLE);
  await until(() => svc.h.store.get(failedId)?.status === 'failed', 60_000, 'the failing install to fail');
  svc.knobs.failHost = null;
  okId = await start(HA);
  await until(() => svc.h.store.get(okId)?.status === 'succeeded', 90_000, 'the install to succeed');
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-US' })).newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe('the console with the keyboard alone', () => {
  it('logs in, opens an install, a cell, a step, closes them with Escape, and cancels through the confirmation', async () => {
    svc.knobs.delayMs = 600; // minutes in all: it still runs when the walk reaches its Cancel button
    const runId = await start(specNamed('gpu-cancel', HA));
    await page.goto(`${svc.url}/console`);
    await page.locator('#token').waitFor();
    await expectFocus('#token');
    await expectAccessible('login');
    await page.keyboard.type('not-the-token-0123456789');
    await page.keyboard.press('Enter');
    await page.locator('#login-message.error').waitFor();
    await expectFocus('#token');
    await expectAccessible('login, token refused');
    await page.keyboard.type(TOKEN);
    await tabTo('button[type=submit]');
    await page.keyboard.press('Space');

    await page.locator(`tr[data-id="${runId}"]`).waitFor();
    await tabTo('#status-filter');
    await tabTo(`a[data-key="install:${runId}"]`);
    await shot('01-list-focus');
    await page.keyboard.press('Enter');

    await page.locator('#install[data-status="running"]').waitFor();
    await page.locator('#grid .cell[data-state="changed"]').first().waitFor({ timeout: 30_000 });
    await tabTo('#grid button.cell');
    const cell = await page.evaluate(() => ({ ...(document.activeElement as HTMLElement).dataset }));
    await page.keyboard.press('Space');
    await expectFocus('#cell-heading');
    await tabTo('button.step-link');
    const step = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.step!);
    await page.keyboard.press('Enter');
    await page.locator(`.step[data-step="${step}"]`).waitFor();
    await expectFocus('#step-heading');
    await tabTo('#step-close', { back: true });
    await shot('02-step-focus');
    await expectAccessible('a running install, a step open');
    await page.keyboard.press('Escape');
    await expectFocus(`button.step-link[data-step="${step}"]`);
    await page.keyboard.press('Escape');
    await expectFocus(`#grid button.cell[data-phase="${cell.phase}"][data-host="${cell.host}"]`);
    expect(await page.locator('#cell-heading').count()).toBe(0);

    await tabTo('#cancel', { back: true });
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    await expectFocus('#confirm-keep'); // the safe answer first
    await shot('03-cancel-confirm');
    await expectAccessible('the cancel confirmation');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog').count()).toBe(0);
    await expectFocus('#cancel');
    expect(svc.h.store.get(runId)!.status).toBe('running');
    await page.keyboard.press('Space');
    await page.locator('dialog[open]').waitFor();
    await tabTo('#confirm-cancel', { back: true });
    await page.keyboard.press('Enter');
    await page.locator('#install[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    expect(svc.h.store.get(runId)!.status).toBe('cancelled');
    // the focus goes to what took the Cancel button's place
    await expectFocus('#resume');
    await shot('04-cancelled-focus');
    svc.knobs.delayMs = 0;

    // what the cancel cut short: interrupted, with its own note, and no step shown as failed
    await page.locator('#grid .cell[data-state="interrupted"]').first().click();
    await page.locator('.step-link').first().waitFor();
    await page.locator('.steps li', { has: page.locator('.chip.state-interrupted') }).locator('.step-link').first().click();
    await page.locator('#interrupted-note').waitFor();
    expect(await page.locator('.step .failure').count()).toBe(0);
    await expectAccessible('a cancelled install, an interrupted step open');
  }, 180_000);
});

describe('axe-core on every main view: no serious or critical finding', () => {
  it('the list, all and filtered', async () => {
    await page.locator('#nav-installs').click();
    await page.locator(`tr[data-id="${okId}"]`).waitFor();
    await expectAccessible('the list');
    // positive control: the check names the rule and the element of a real finding
    await page.evaluate(() => document.querySelector('main')!.append(Object.assign(document.createElement('button'), { id: 'nameless' })));
    expect(await accessibilityFindings(page)).toEqual([expect.stringMatching(/^critical button-name \(Buttons must have discernible text\): #nameless <button id="nameless"><\/button>$/)]);
    await page.evaluate(() => document.getElementById('nameless')!.remove());
    await page.getByLabel('Status').selectOption('failed');
    await page.locator(`tr[data-id="${okId}"]`).waitFor({ state: 'detached' });
    await expectAccessible('the list, filtered');
  });

  it('validation with warnings, and with errors', async () => {
    await page.locator('#nav-new').click();
    await page.locator('#spec').fill(HA);
    await page.locator('#validate').click();
    await page.locator('#warnings').waitFor();
    await expectAccessible('validate: warnings');
    await page.locator('#spec').fill(HA.replace(/apiVersion: .*/, 'apiVersion: nope/v0'));
    await page.locator('#validate').click();
    await page.locator('.error-box').waitFor();
    await expectAccessible('validate: errors');
  });

  it('a failed install and its failed step; a succeeded one with a step\'s output and the delete confirmation', async () => {
    await page.goto(`${svc.url}/console#/clusters/${failedId}`);
    await page.locator('#why').waitFor();
    await expectAccessible('a failed install');
    await page.locator('#why button').click();
    await page.locator('.step .failure').waitFor();
    await expectAccessible('a failed step');
    await page.goto(`${svc.url}/console#/clusters/${okId}`);
    await page.locator('#install[data-status="succeeded"]').waitFor();
    await page.locator('#install-warnings summary').click();
    await page.locator('details.secrets summary').click();
    await page.locator('#grid .cell[data-phase="first-control-plane"]').first().click();
    await page.locator('.step-link', { hasText: 'kubeadm init' }).first().click();
    await page.locator('pre.output').waitFor();
    await expectAccessible('a succeeded install, warnings and files open, a step with output');
    await page.locator('#delete').click();
    await page.locator('dialog[open]').waitFor();
    await expectAccessible('the delete confirmation');
    await page.keyboard.press('Escape');
  });

  it('in 中文: the list and an install', async () => {
    await page.locator('#lang').click();
    await page.locator('html[lang="zh-CN"]').waitFor();
    await page.locator('#install[data-status="succeeded"]').waitFor();
    await expectAccessible('an install in 中文');
    await page.locator('#nav-installs').click();
    await page.locator(`tr[data-id="${okId}"]`).waitFor();
    await expectAccessible('the list in 中文');
    await shot('05-list-zh');
    await page.locator('#lang').click();
  });
});
