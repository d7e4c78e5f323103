// npm run bench (console part): time from navigating to /console until the list of 100 installs is on screen, in
// Debian's chromium (headless, playwright-core) over loopback, each run in a fresh browser context (cold page, no
// cache) with the token already in sessionStorage. The page records performance.now() when it has rendered the list
// (body[data-listed-ms]): navigation start to list, including the API call. The 100 installs are records made in
// the store (the list reads nothing else), not run. Printed, not asserted. Alone: npx tsx bench/console.ts
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { TOKEN } from '../test/api/harness.js';
import { startConsoleService } from '../test/console/serve.js';
import { goal } from './goals.js';

export async function benchConsole(runs = 15): Promise<void> {
  const chromiumPath = process.env.AIRGAP_K8S_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) {
    console.log('console: skipped (no chromium; scripts/setup-console.sh installs it)');
    return;
  }
  const svc = await startConsoleService();
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    for (let i = 0; i < 100; i++) {
      svc.h.store.insertCluster({ id: `bench${String(i).padStart(21, '0')}`, name: `bench-${i}`, executor: 'dry-run', specInput: {}, warnings: [], createdBy: 'admin' });
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
      await ctx.addInitScript((t) => sessionStorage.setItem('airgap-k8s.console.token', t), TOKEN);
      const page = await ctx.newPage();
      await page.goto(`${svc.url}/console#/clusters`);
      await page.locator('body[data-listed="100"]').waitFor();
      times.push(Number(await page.locator('body').getAttribute('data-listed-ms')));
      await ctx.close();
    }
    const sorted = [...times].sort((a, b) => a - b);
    goal('console: 100-install list on screen, p50', sorted[Math.floor(runs / 2)]!, 300, 'max');
    console.log(
      `console: list of 100 installs on screen   first ${times[0]} ms   p50 ${sorted[Math.floor(runs / 2)]} ms   max ${sorted[runs - 1]} ms   (${runs} cold page loads, chromium headless, loopback)`,
    );
  } finally {
    await browser.close();
    await svc.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchConsole();
