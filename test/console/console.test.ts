// The console in a real browser (issue 15): Debian's chromium driven by playwright-core, at 1366x768, against the
// real built page and the real API on loopback. Log in (a refused token first), validate and start a dry run from
// the page and watch the grid reach succeeded across a dropped connection (Last-Event-ID, no event lost or counted
// twice), open the failed step of a failing install and read the cause first, cancel and resume, switch 中文 and
// English (and start in 中文 from the browser's language), download the files, delete with confirmation, and a
// token revoked mid-session back to the login view. Then no secret in the DOM, the storage or any response.
// Screenshots of each state: test-results/console/*.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN, specNamed, until } from '../api/harness.js';
import { FIXTURES } from '../support/fixtures.js';
import { launchChromium, SHOTS } from './browser.js';
import { startConsoleService, type ConsoleService } from './serve.js';

const HA = readFileSync(join(FIXTURES, 'valid-runbook-ha.yaml'), 'utf8');
const SINGLE = readFileSync(join(FIXTURES, 'valid-runbook-single.yaml'), 'utf8');

let svc: ConsoleService;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
/** every response body the page received (event streams included), for the secrets scan */
const bodies: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
const openPage = async (c: BrowserContext) => {
  const p = await c.newPage();
  p.on('response', async (r) => {
    try {
      bodies.push(`${r.url()}\n${JSON.stringify(await r.allHeaders())}\n${(await r.body()).toString('utf8')}`);
    } catch {
      // a stream cut by the test's network blip has no body to read
    }
  });
  p.on('pageerror', (e) => bodies.push(`pageerror ${e.message}`));
  return p;
};
/** the install's events as the service stored them */
const stored = (id: string) => svc.h.store.eventsAfter(id, 0, 100_000);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  svc = await startConsoleService();
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-US', acceptDownloads: true });
  page = await openPage(ctx);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe('the console in chromium', () => {
  it('shows the login view; a wrong token is refused (401) and not kept', async () => {
    await page.goto(`${svc.url}/console`);
    await page.getByLabel('API token').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Log in');
    await page.getByLabel('API token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('The service refused this token (401)').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot('01-login-refused');
  });

  it('logs in with the token, kept in sessionStorage only, never in the URL', async () => {
    await page.getByLabel('API token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.locator('body[data-view="list"]').waitFor();
    await page.getByText('No installs.').waitFor();
    expect(await page.evaluate(() => Object.entries(sessionStorage))).toEqual([['airgap-k8s.console.token', TOKEN]]);
    expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([]);
    expect(page.url()).not.toContain(TOKEN);
    await shot('02-list-empty');
  });

  let okId = '';
  it('validates a pasted spec, shows its warnings beside the button, starts a dry run', async () => {
    await page.getByRole('link', { name: 'Validate / dry run' }).click();
    await page.getByLabel('Cluster spec (YAML or JSON)').fill(HA);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.getByText('Valid: cluster gpu-prod, 4 hosts.').waitFor();
    const codes = await page.locator('#warnings li').evaluateAll((els) => els.map((e) => e.getAttribute('data-code')));
    expect(codes).toEqual(expect.arrayContaining(['containerd_eol', 'cgroup_v1', 'gpu_os']));
    expect(await page.locator('#warnings li[data-code="cgroup_v1"] strong').textContent()).toBe('cgroup v1 (RHEL 8): Kubernetes 1.35 refuses it by default');
    await shot('03-validate-warnings');
    svc.knobs.delayMs = 25;
    await page.getByRole('button', { name: 'Start dry run' }).click();
    await page.locator('#install[data-status="running"]').waitFor();
    okId = /#\/clusters\/(\w+)/.exec(page.url())![1]!;
    expect(svc.h.store.get(okId)).toMatchObject({ name: 'gpu-prod', executor: 'dry-run', createdBy: 'admin' });
  });

  it('follows the install live through a dropped connection: resumes with Last-Event-ID, reaches succeeded, each event once', async () => {
    await page.locator('#grid .cell[data-state="changed"]').first().waitFor();
    await shot('04-install-running');
    const before = svc.requests.filter((r) => r.path.endsWith('/events')).length;
    // the network blip: every connection of the server cut at once (the page's event stream among them)
    (svc.server as unknown as { closeAllConnections(): void }).closeAllConnections();
    await until(() => svc.requests.some((r, i) => i >= before && r.path === `/clusters/${okId}/events` && r.lastEventId !== ''), 20_000, 'a reconnect with Last-Event-ID');
    await page.locator('#install[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const events = stored(okId);
    const resumedFrom = Number(svc.requests.filter((r) => r.path === `/clusters/${okId}/events` && r.lastEventId).at(-1)!.lastEventId);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThan(events.length);
    await page.getByText(`complete: ${events.length} events (last #${events.length})`).waitFor();
    expect(await page.locator('#install').getAttribute('data-events')).toBe(String(events.length));
    // the grid agrees with the service: every cell finished, none failed or pending
    const states = await page.locator('#grid .cell').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(states.length).toBeGreaterThan(20);
    expect(states.filter((s) => s === 'failed' || s === 'pending' || s === 'running')).toEqual([]);
    const detail = (await (await svc.h.req(`/clusters/${okId}`)).json()) as { progress: { total: number; done: number; skipped: number } };
    expect(await page.locator('#progress-text').textContent()).toMatch(new RegExp(`^${detail.progress.done + detail.progress.skipped} of ${detail.progress.total} steps finished · took \\d`));
    expect(await page.locator('.install-head dd').nth(3).textContent()).not.toBe('—'); // finished at
    // per-phase times from the stream
    expect(await page.locator('#grid tbody tr').first().locator('td.time').textContent()).toMatch(/\d+(\.\d)? (ms|s)$/);
    await shot('05-install-succeeded');
  }, 120_000);

  it('shows a step\'s detail: its output as the service redacted it', async () => {
    await page.locator('#grid .cell[data-phase="first-control-plane"]').first().click();
    await page.locator('.step-link', { hasText: 'kubeadm init' }).first().click();
    await page.locator('#step-heading').waitFor();
    const out = await page.locator('pre.output').textContent();
    expect(out).toContain('kubeadm join 55.192.0.1:6553 --token *** --certificate-key ***');
    await shot('06-step-output');
  });

  let failedId = '';
  it('opens the failed step of a failing install from the list: the cause first, then host and exit code, then the command', async () => {
    svc.knobs.delayMs = 0;
    svc.knobs.failHost = 'node1';
    const r = await svc.h.post('/clusters?dryRun=true', SINGLE);
    failedId = ((await r.json()) as { id: string }).id;
    await until(() => svc.h.store.get(failedId)?.status === 'failed', 60_000, 'the failing install to fail');
    await page.locator('#nav-installs').click();
    await page.locator(`tr[data-id="${failedId}"]`).waitFor();
    await page.getByLabel('Status').selectOption('failed');
    await page.locator(`tr[data-id="${failedId}"]`).waitFor();
    expect(await page.locator('table.installs tbody tr').count()).toBe(1);
    await shot('07-list-failed-filter');
    await page.locator(`tr[data-id="${failedId}"] a`).click();
    await page.locator('#install[data-status="failed"]').waitFor();
    expect(await page.locator('#why .cause').textContent()).toBe('modprobe: FATAL: Module br_netfilter not found in directory /lib/modules/4.18.0-513.el8.x86_64');
    await page.locator('#why button').click();
    const failure = page.locator('.step .failure');
    await failure.waitFor();
    const parts = await failure.locator(':scope > *').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    expect(parts[0]).toBe('Cause');
    expect(parts[1]).toMatch(/^modprobe: FATAL: Module br_netfilter not found/);
    expect(parts[2]).toBe('exit code 1 on node1');
    expect(parts[3]).toBe('To reproduce by hand, run on node1 as root:');
    expect(parts[4]).toMatch(/^sh -c /);
    expect(parts[4]).toContain('prepare-os.sh');
    await shot('08-failed-step-cause');
  }, 90_000);

  it('resumes the failed install once the host is fixed: it succeeds', async () => {
    svc.knobs.failHost = null;
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#install[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    expect(svc.h.store.get(failedId)!.runs).toBe(2);
  }, 90_000);

  let cancelId = '';
  it('cancels a running install after a confirmation: what was in flight shows interrupted, not failed; resumes it to the end', async () => {
    svc.knobs.delayMs = 40;
    const r = await svc.h.post('/clusters?dryRun=true', specNamed('gpu-cancel', HA));
    cancelId = ((await r.json()) as { id: string }).id;
    await page.goto(`${svc.url}/console#/clusters/${cancelId}`);
    await page.locator('#grid .cell[data-state="changed"]').first().waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Cancel install' }).click();
    await page.locator('dialog[open]').getByText(`Cancel install gpu-cancel (${cancelId})?`).waitFor();
    await page.locator('#confirm-cancel').click();
    await page.locator('#install[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    expect(svc.h.store.get(cancelId)!.status).toBe('cancelled');
    // the grid agrees with the service: the steps in flight are interrupted, none failed
    const interrupted = svc.h.store.stepStates(cancelId).filter((s) => s.state === 'interrupted');
    expect(interrupted.length).toBeGreaterThan(0);
    expect(svc.h.store.stepStates(cancelId).filter((s) => s.state === 'failed')).toEqual([]);
    const states = await page.locator('#grid .cell').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(states).toContain('interrupted');
    expect(states).not.toContain('failed');
    expect(await page.locator('#why').count()).toBe(0);
    expect(await page.locator('#progress-text').textContent()).toContain(`· ${interrupted.length} interrupted (run again on resume)`);
    await shot('09-cancelled');
    await page.locator('#grid .cell[data-state="interrupted"]').first().click();
    const link = page.locator('.steps li', { has: page.locator('.chip.state-interrupted') }).locator('.step-link').first();
    expect(interrupted.map((s) => s.stepId)).toContain(await link.getAttribute('data-step'));
    await link.click();
    expect(await page.locator('.step .chip').first().textContent()).toBe('interrupted');
    await page.getByText('It did not fail on its own: a resume runs it again.').waitFor();
    expect(await page.locator('.step .failure').count()).toBe(0);
    await shot('09b-interrupted-step');
    svc.knobs.delayMs = 5;
    await page.getByRole('button', { name: 'Resume' }).click();
    // the resumed install may run its remaining steps before the page shows it running: succeeded is the end state
    await page.locator('#install[data-status="succeeded"]').waitFor({ timeout: 90_000 });
    expect(svc.h.store.get(cancelId)!.runs).toBe(2);
    const events = stored(cancelId);
    expect(await page.locator('#install').getAttribute('data-last-seq')).toBe(String(events.length));
    expect(await page.locator('#install').getAttribute('data-events')).toBe(String(events.length));
  }, 150_000);

  it('downloads the rendered files (without secret files)', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download rendered files' }).click()]);
    expect(download.suggestedFilename()).toBe(`gpu-cancel-${cancelId}.tar.gz`);
    const tar = gunzipSync(readFileSync(await download.path()));
    expect(tar.subarray(0, 200).toString('latin1')).toContain('gpu-cancel/');
  });

  it('switches to 中文 and back; every visible label follows', async () => {
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('button', { name: '继续安装' }).or(page.getByRole('button', { name: '删除记录' })).first().waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    expect(await page.locator('#progress-text').textContent()).toMatch(/^已完成 \d+ \/ \d+ 个步骤/);
    expect(await page.locator('#grid caption').textContent()).toBe('安装计划：阶段 × 主机');
    await shot('10-install-zh');
    await page.getByRole('link', { name: '安装任务' }).first().click();
    await page.locator('table.installs caption').waitFor();
    expect(await page.locator('table.installs thead').textContent()).toBe('集群状态开始时间结束时间执行器发起者编号');
    await shot('11-list-zh');
    await page.getByRole('button', { name: 'English' }).click();
    await page.locator('table.installs thead', { hasText: 'Cluster' }).waitFor();
  });

  it('starts in 中文 when the browser prefers it (Accept-Language / navigator.languages)', async () => {
    const zh = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    const p = await zh.newPage();
    await p.goto(`${svc.url}/console`);
    await p.getByLabel('API 令牌').waitFor();
    expect(await p.locator('h1').textContent()).toBe('登录');
    await p.screenshot({ path: join(SHOTS, '12-login-zh.png') });
    await zh.close();
  });

  it('deletes an install after a confirmation; "Keep" keeps it', async () => {
    await page.locator(`tr[data-id="${failedId}"] a`).click();
    await page.getByRole('button', { name: 'Delete record' }).click();
    await page.locator('dialog[open]').waitFor();
    await shot('13-delete-confirm');
    await page.getByRole('button', { name: 'Keep' }).click();
    expect(svc.h.store.get(failedId)).toBeDefined();
    await page.getByRole('button', { name: 'Delete record' }).click();
    await page.locator('#confirm-delete').click();
    await page.locator('body[data-view="list"]').waitFor();
    await until(() => svc.h.store.get(failedId) === undefined, 5000, 'the record deleted');
    expect(await page.locator(`tr[data-id="${failedId}"]`).count()).toBe(0);
  });

  it('a token revoked mid-session: the next call answers 401 and the page returns to the login view', async () => {
    const viewer = svc.h.access.createToken('console-viewer', 'viewer');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API token').fill(viewer);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('body[data-view="list"]').waitFor();
    // a viewer may look but not act: the service's 403 is shown
    await page.locator(`tr[data-id="${okId}"] a`).click();
    await page.getByRole('button', { name: 'Delete record' }).click();
    await page.locator('#confirm-delete').click();
    await page.getByText('Your token\'s role does not allow this (403)').waitFor();
    await shot('14-viewer-403');
    svc.h.access.revokeToken('console-viewer');
    await page.locator('#nav-installs').click();
    await page.getByText('The service answered 401').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot('15-revoked-401');
  });

  it('no secret in the DOM, the storage or any response the page received', async () => {
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`tr[data-id="${okId}"] a`).click();
    await page.locator('#install[data-status="succeeded"]').waitFor();
    await page.locator('#grid .cell[data-phase="first-control-plane"]').first().click();
    await page.locator('.step-link', { hasText: 'kubeadm init' }).first().click();
    await page.locator('pre.output').waitFor();
    const dom = await page.evaluate(() => document.documentElement.outerHTML + document.body.innerText);
    const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: Object.entries(sessionStorage).filter(([k]) => k !== 'airgap-k8s.console.token') }));
    const values = [...svc.secrets().filter((s) => s.length >= 8), TOKEN];
    expect(svc.secrets().length).toBeGreaterThan(20); // three clusters' secrets
    // the scan saw what the page read: lists, installs, plans, event streams, validation
    for (const part of ['/clusters?limit=100', '/plan\n', '/events\n', '/validate\n', `/clusters/${okId}\n`]) expect(bodies.some((b) => b.includes(part)), part).toBe(true);
    // positive control: the scan would see a secret in the page's text
    expect(dom.includes('kubeadm join 55.192.0.1:6553 --token ***')).toBe(true);
    for (const [where, texts] of [['DOM', [dom]], ['storage', [storage]], ['response', bodies]] as const) {
      for (const t of texts) for (const v of values) expect(t.includes(v), `${where} holds a secret (${v.slice(0, 4)}…): ${t.slice(0, 150)}`).toBe(false);
    }
    expect(bodies.filter((b) => b.startsWith('pageerror'))).toEqual([]);
    // the page asks for nothing outside the console and the API: no /favicon.ico (its 401 would count as a failed
    // authentication against the operator's address)
    expect(svc.requests.filter((r) => !/^\/(console|clusters|validate)(\/|$)/.test(r.path)).map((r) => r.path)).toEqual([]);
  });
});
