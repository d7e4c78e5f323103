// The HA load balancer, end to end, on real hosts: three systemd host-containers from the test bed (sshd, Debian
// bookworm, no keepalived/haproxy), all control planes and all load balancers (cp1 MASTER at priority 101, cp2 100,
// cp3 99), the VIP a spare address on the test network. The real plan (buildPlan's phases preflight and
// load-balancer) is applied by the real runner through the SSH executor as the non-root user `airgap` with sudo,
// every host key pinned by fingerprint: keepalived and haproxy installed from the offline .debs with dpkg,
// keepalived.conf, check_apiserver.sh and haproxy.cfg written, both services started. A small HTTPS server on :6443
// (./standin-apiserver.py) stands in for each kube-apiserver until the real control plane runs here.
//
// distribute is NOT applied: the test copies the test bed's cached .debs to <bundleDir>/packages/debian12/
// load-balancer/ itself (docker cp), where the install step reads them; distributing the real bundle is src/bundle's
// job and tested there.
// prepare-os is NOT applied: prepare-os.sh turns swap off, loads kernel modules and writes sysctls (net.bridge.*,
// vm.*), which in a privileged container are THIS machine's kernel settings, shared with every other container and
// engineer; it also sets the hostname the test bed gave. Nothing in the load-balancer phase depends on it (haproxy
// binds *:<port>, so no ip_nonlocal_bind; keepalived needs no sysctl). The phases after load-balancer need kubeadm.
//
// `npm run test:e2e:lb` (prepares the test bed first; root). Prints every measured time with the prefix [e2e-lb].
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileJournal, MemoryJournal } from '../../src/runner/journal.js';
import type { RunEvent } from '../../src/runner/runner.js';
import { createTestbed, sleep, type Testbed, type TestbedHost, waitFor } from '../testbed/testbed.js';
import {
  apply, type ApplyResult, BACKEND_PORT, fileIdentity, haproxyServerStatus, holdsVip, httpsGet, installStandin,
  LB_FILES, LB_PHASES, LB_PORT, lbCluster, type LbCluster, mainPids, STANDIN_FLAG, STANDIN_LOG,
  vipHolders, waitSoleHolder, waitVipServes,
} from './lb-support.js';

const measured: string[] = [];
const report = (line: string) => {
  measured.push(line);
  console.log(`[e2e-lb] ${line}`);
};

/** the steps that changed something, and the non-read-only steps that were performed rather than skipped */
function changes(r: ApplyResult) {
  const changed = r.events.filter((e): e is Extract<RunEvent, { type: 'step-finished' }> => e.type === 'step-finished' && e.changed);
  const skipped = r.events.filter((e): e is Extract<RunEvent, { type: 'step-skipped' }> => e.type === 'step-skipped');
  return { changed: changed.map((e) => e.stepId), skipped };
}

describe('HA load balancer end to end: keepalived + haproxy applied over SSH to 3 host-containers', () => {
  let tb: Testbed;
  let c: LbCluster;
  let vip: string;
  let cp1: TestbedHost;
  let cp2: TestbedHost;
  let cp3: TestbedHost;
  let lbs: TestbedHost[];
  let journalDir: string;
  let journal: FileJournal;
  /** per host: identity (sha256 inode ctime mode owner) of each written file after the first apply */
  const identities = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    tb = await createTestbed({ name: 'e2elb', hosts: ['cp1', 'cp2', 'cp3'], log: (l) => console.log(`[e2e-lb] testbed: ${l}`) });
    [cp1, cp2, cp3] = tb.hosts as [TestbedHost, TestbedHost, TestbedHost];
    lbs = [cp1, cp2, cp3];
    vip = tb.network.spareAddresses[0]!;
    c = lbCluster(tb, vip, 3);
    report(`test bed: ${tb.hosts.map((h) => `${h.name}=${h.address}`).join(' ')}, VIP ${vip}:${LB_PORT}; ready in ${tb.timings.totalMs} ms`);
    // The offline packages where the plan's install step looks (<bundleDir>/packages/debian12/load-balancer/): the
    // test bed's cached .debs, copied in as test setup (the bundle distribution is another phase's job).
    const t0 = Date.now();
    await Promise.all(lbs.map(async (h) => {
      await tb.exec(h, ['mkdir', '-p', posix.dirname(c.packageDir)]);
      await tb.copyTo(h, tb.bundleDir, c.packageDir);
    }));
    report(`bundle .debs copied to ${c.packageDir} on ${lbs.length} hosts in ${Date.now() - t0} ms`);
    journalDir = mkdtempSync(join(tmpdir(), 'airgap-k8s-e2e-lb-'));
    journal = new FileJournal(join(journalDir, 'journal.json'));
  }, 300_000);

  afterAll(async () => {
    try {
      await tb?.destroy();
    } finally {
      if (journalDir) rmSync(journalDir, { recursive: true, force: true });
      console.log(`[e2e-lb] ---- measured ----\n${measured.map((l) => `[e2e-lb]   ${l}`).join('\n')}`);
    }
  }, 180_000);

  it('applies preflight and load-balancer over SSH (sudo user, pinned host keys)', async () => {
    expect(c.plan.phases.map((p) => p.name)).toEqual(LB_PHASES);
    expect(c.fullPlan.phases.map((p) => p.name)).toContain('prepare-os');
    const steps = c.plan.phases.flatMap((p) => p.steps);

    const r = await apply(c, journal);
    expect(r.summary.failures).toEqual([]);
    expect(r.summary.ok).toBe(true);
    const phaseMs = r.events
      .filter((e): e is Extract<RunEvent, { type: 'phase-finished' }> => e.type === 'phase-finished')
      .map((e) => `${e.phase} ${e.durationMs} ms`);
    report(`first apply: ${steps.length} steps, ${r.summary.changed} changed, ${r.summary.skipped} skipped in ${r.ms} ms (${phaseMs.join(', ')})`);
    // every mutating step ran (nothing was there) and every handler fired; an enable step may find its service
    // already enabled and running (Debian's haproxy package starts haproxy on install): its probe skips it then
    const { changed, skipped } = changes(r);
    for (const s of steps.filter((x) => !x.readOnly)) {
      if (s.kind === 'systemd' && s.action === 'enable-now' && !changed.includes(s.id)) {
        expect(skipped.find((e) => e.stepId === s.id)?.reason, s.id).toBe('probe');
      } else {
        expect(changed, s.id).toContain(s.id);
      }
    }
    report(`first apply: enable steps skipped by their probe (already active+enabled after dpkg): ${skipped.map((e) => e.stepId).join(', ') || 'none'}`);

    for (const h of lbs) {
      const pkgs = await tb.exec(h, ['dpkg-query', '-W', '-f', '${Package} ${db:Status-Abbrev}\n', 'keepalived', 'haproxy']);
      expect(pkgs.stdout).toMatch(/^keepalived ii /m);
      expect(pkgs.stdout).toMatch(/^haproxy ii /m);
      for (const path of LB_FILES) {
        const step = steps.find((s) => s.kind === 'write-file' && s.host === h.name && s.path === path);
        expect(step, `${h.name}: write step for ${path}`).toBeDefined();
        const id = (await fileIdentity(tb, h, [path]))[path]!;
        const [sum, , , mode, owner] = id.split(' ');
        expect(sum, `${h.name}:${path}`).toBe(step!.kind === 'write-file' ? step!.sha256 : '');
        expect(mode).toBe(step!.kind === 'write-file' ? step!.mode.toString(8) : '');
        expect(owner).toBe('root');
      }
      for (const unit of ['haproxy', 'keepalived']) {
        expect((await tb.exec(h, ['systemctl', 'is-active', unit], { allowFailure: true })).stdout.trim(), `${h.name}: ${unit}`).toBe('active');
        expect((await tb.exec(h, ['systemctl', 'is-enabled', unit], { allowFailure: true })).stdout.trim()).toBe('enabled');
      }
      // keepalived's own parser accepts what was written, where it runs
      await tb.exec(h, ['keepalived', '-t', '-f', '/etc/keepalived/keepalived.conf']);
      await tb.exec(h, ['haproxy', '-c', '-f', '/etc/haproxy/haproxy.cfg']);
      identities.set(h.name, await fileIdentity(tb, h, LB_FILES));
    }

    // The apiservers come after the load-balancer phase (kubeadm init): their stand-ins start now.
    const t0 = Date.now();
    await Promise.all(lbs.map((h) => installStandin(tb, h)));
    report(`stand-in apiservers (HTTPS :${BACKEND_PORT}) started on ${lbs.length} hosts in ${Date.now() - t0} ms`);
  }, 600_000);

  it('gives the VIP to exactly one host, the MASTER', async () => {
    const ms = await waitSoleHolder(tb, lbs, vip, cp1, 60_000);
    report(`VIP ${vip} held by ${cp1.name} alone (checked for 3 s more) ${ms} ms after the stand-ins answered`);
  }, 90_000);

  it('reaches every backend through VIP:port over TLS, and /healthz answers', async () => {
    const ms = await waitVipServes(vip, 30_000);
    report(`GET https://${vip}:${LB_PORT}/whoami first answered ${ms} ms after the VIP settled (haproxy checks rise)`);
    // haproxy marks the backends UP after `rise 2` checks 2 s apart: wait until all three are UP on the holder
    await waitFor('all backends UP on the VIP holder', async () => {
      const st = await haproxyServerStatus(tb, cp1);
      return ['cp1', 'cp2', 'cp3'].every((n) => st[n] === 'UP') ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    const hits = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const r = await httpsGet(vip, LB_PORT, '/whoami');
      expect(r.status).toBe(200);
      expect(r.body.trim()).toBe(r.backend);
      hits.set(r.backend!, (hits.get(r.backend!) ?? 0) + 1);
    }
    report(`12 GET /whoami through the VIP (one TLS connection each): ${[...hits].map(([k, v]) => `${k}=${v}`).join(' ')}`);
    expect([...hits.keys()].sort()).toEqual(['cp1', 'cp2', 'cp3']);
    const health = await httpsGet(vip, LB_PORT, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toBe('ok\n');
  }, 90_000);

  it('changes nothing on a second apply with the same journal', async () => {
    const pids = await Promise.all(lbs.map((h) => mainPids(tb, h, ['haproxy', 'keepalived'])));
    const r = await apply(c, journal);
    expect(r.summary.ok).toBe(true);
    expect(r.summary.changed).toBe(0);
    const { changed, skipped } = changes(r);
    expect(changed).toEqual([]);
    const mutating = c.plan.phases.flatMap((p) => p.steps).filter((s) => !s.readOnly);
    expect(skipped.map((e) => e.stepId).sort()).toEqual(mutating.map((s) => s.id).sort());
    const reasons = new Set(skipped.map((e) => e.reason));
    report(`second apply, same journal: ${r.summary.changed} changed, ${r.summary.skipped} skipped (${[...reasons].join(', ')}) in ${r.ms} ms`);
    for (const [i, h] of lbs.entries()) {
      expect(await fileIdentity(tb, h, LB_FILES), h.name).toEqual(identities.get(h.name));
      expect(await mainPids(tb, h, ['haproxy', 'keepalived']), `${h.name}: no restart`).toEqual(pids[i]);
    }
  }, 300_000);

  it('changes nothing on a second apply with a fresh journal (idempotency probes only)', async () => {
    const pids = await Promise.all(lbs.map((h) => mainPids(tb, h, ['haproxy', 'keepalived'])));
    const r = await apply(c, new MemoryJournal());
    expect(r.summary.failures).toEqual([]);
    expect(r.summary.changed).toBe(0);
    const { changed, skipped } = changes(r);
    expect(changed).toEqual([]);
    const mutating = c.plan.phases.flatMap((p) => p.steps).filter((s) => !s.readOnly);
    expect(skipped.map((e) => e.stepId).sort()).toEqual(mutating.map((s) => s.id).sort());
    // probed steps were skipped by their probe, handlers because nothing they follow changed
    for (const e of skipped) {
      const step = mutating.find((s) => s.id === e.stepId)!;
      expect(e.reason, e.stepId).toBe(step.onChangeOf ? 'no-change' : 'probe');
    }
    report(`second apply, fresh journal: ${r.summary.changed} changed, ${r.summary.skipped} skipped by probes/handler rule in ${r.ms} ms`);
    for (const [i, h] of lbs.entries()) {
      expect(await fileIdentity(tb, h, LB_FILES), h.name).toEqual(identities.get(h.name));
      expect(await mainPids(tb, h, ['haproxy', 'keepalived']), `${h.name}: no restart`).toEqual(pids[i]);
    }
  }, 300_000);

  it('takes a backend whose /healthz answers 500 out of rotation, and back in when it recovers', async () => {
    // haproxy.cfg: checks every 2 s, DOWN after 3 failures, UP after 2 successes
    const t0 = Date.now();
    await tb.exec(cp3, ['touch', STANDIN_FLAG]);
    const downMs = await waitFor('cp3 DOWN in haproxy on the VIP holder', async () => {
      const st = await haproxyServerStatus(tb, cp1);
      return st.cp3?.startsWith('DOWN') ? Date.now() - t0 : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    report(`backend cp3 /healthz -> 500: haproxy on the VIP holder marked it DOWN after ${downMs} ms (inter 2s, fall 3)`);
    expect(downMs).toBeLessThan(15_000);
    const since = Date.now() / 1000;
    const hits = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await httpsGet(vip, LB_PORT, '/whoami');
      expect(r.status).toBe(200);
      hits.set(r.backend!, (hits.get(r.backend!) ?? 0) + 1);
    }
    expect(hits.has('cp3')).toBe(false);
    // and the stand-in on cp3 saw no request other than health checks since it was marked DOWN (haproxy keeps
    // checking it: wait for one such check, so the log is known to cover the period)
    const log = await waitFor('a health check of cp3 logged after it went DOWN', async () => {
      const lines = (await tb.exec(cp3, ['cat', STANDIN_LOG])).stdout.trim().split('\n').map((l) => l.split(' '));
      return lines.some(([t, , path, code]) => Number(t) > since && path === '/healthz' && code === '500') ? lines : undefined;
    }, { timeoutMs: 15_000, intervalMs: 500 });
    expect(log.some(([, , path]) => path === '/whoami'), 'cp3 did serve /whoami before').toBe(true);
    const late = log.filter(([t, , path]) => Number(t) > since && path !== '/healthz');
    expect(late, 'requests reaching cp3 after it was DOWN').toEqual([]);
    report(`30 GET /whoami through the VIP while cp3 is DOWN: ${[...hits].map(([k, v]) => `${k}=${v}`).join(' ')}; cp3 saw only /healthz checks`);

    const t1 = Date.now();
    await tb.exec(cp3, ['rm', '-f', STANDIN_FLAG]);
    const upMs = await waitFor('cp3 UP again', async () => {
      const st = await haproxyServerStatus(tb, cp1);
      return st.cp3 === 'UP' ? Date.now() - t1 : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    report(`cp3 /healthz -> 200 again: back UP after ${upMs} ms (rise 2)`);
    const back = new Set<string>();
    for (let i = 0; i < 9; i++) back.add((await httpsGet(vip, LB_PORT, '/whoami')).backend!);
    expect(back.has('cp3')).toBe(true);
  }, 120_000);

  /** stops (or kills) the VIP holder and measures until the next host holds the VIP alone and the VIP serves */
  async function failover(from: TestbedHost, to: TestbedHost, kill: boolean) {
    const how = kill ? 'docker kill' : 'docker stop';
    const others = lbs.filter((h) => h !== from);
    const t0 = Date.now();
    let stoppedMs = -1;
    const stopping = tb.stop(from, { kill }).then(() => (stoppedMs = Date.now() - t0));
    const movedMs = await waitFor(`${vip} on ${to.name}`, async () => ((await holdsVip(tb, to, vip)) ? Date.now() - t0 : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await waitVipServes(vip, 30_000);
    const servedAt = Date.now() - t0;
    await stopping;
    await waitSoleHolder(tb, others, vip, to, 5_000);
    report(`${how} of the MASTER ${from.name}: VIP on ${to.name} after ${movedMs} ms; GET through the VIP answered again ` +
      `after ${servedAt} ms (${how} returned after ${stoppedMs} ms)`);
    return { movedMs, servedAt };
  }

  it('moves the VIP to the next LB host when the MASTER container stops or dies, and back when it returns', async () => {
    const stop = await failover(cp1, cp2, false);
    expect(stop.movedMs).toBeLessThan(10_000);
    let t0 = Date.now();
    await tb.start(cp1);
    const bootMs = Date.now() - t0;
    let ms = await waitSoleHolder(tb, lbs, vip, cp1, 60_000);
    report(`${cp1.name} restarted (boot ${bootMs} ms) and took the VIP back ${ms} ms after it was ready (priority 101 preempts)`);

    const killed = await failover(cp1, cp2, true);
    expect(killed.movedMs).toBeLessThan(15_000);
    t0 = Date.now();
    await tb.start(cp1);
    ms = await waitSoleHolder(tb, lbs, vip, cp1, 60_000);
    report(`${cp1.name} restarted after the kill and took the VIP back ${Date.now() - t0 - 3_000} ms after docker start (${ms} ms after ready)`);
    await waitVipServes(vip, 30_000);
  }, 300_000);

  it('moves the VIP when check_apiserver.sh fails on the holder (haproxy stopped there), and back when it passes', async () => {
    await waitSoleHolder(tb, lbs, vip, cp1, 30_000, 0);
    const since = (await tb.exec(cp1, ['date', '+%Y-%m-%d %H:%M:%S'])).stdout.trim();
    const t0 = Date.now();
    await tb.exec(cp1, ['systemctl', 'stop', 'haproxy']);
    // clients see the VIP refuse connections until keepalived gives it up: measure that outage too
    let outageEnd = -1;
    const probeClient = (async () => {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const ok = await httpsGet(vip, LB_PORT, '/whoami', 1_000).then((r) => r.status === 200, () => false);
        if (ok) {
          outageEnd = Date.now() - t0;
          return;
        }
        await sleep(200);
      }
    })();
    // check_apiserver.sh: every 3 s, fall 10 -> the priority drops by 3 (101 -> 98) below cp2 (100) and cp3 (99)
    const movedMs = await waitFor(`${vip} on ${cp2.name}`, async () => ((await holdsVip(tb, cp2, vip)) ? Date.now() - t0 : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    await probeClient;
    await waitSoleHolder(tb, lbs, vip, cp2, 5_000);
    const journalText = (await tb.exec(cp1, ['journalctl', '-u', 'keepalived', '--since', since, '--no-pager', '-o', 'cat'])).stdout;
    const lines = journalText.split('\n').filter((l) => /check_apiserver|priority|BACKUP|MASTER/.test(l));
    for (const l of lines) console.log(`[e2e-lb] keepalived on ${cp1.name}: ${l}`);
    // the move is the check's doing: 101 + weight -3 = 98, below cp2's 100
    expect(journalText).toMatch(/VRRP_Script\(check_apiserver\) failed/);
    expect(journalText).toMatch(/Changing effective priority from 101 to 98/);
    expect(journalText).toMatch(/Entering BACKUP STATE/);
    report(`haproxy stopped on the holder ${cp1.name}: check_apiserver.sh failing moved the VIP to ${cp2.name} after ${movedMs} ms ` +
      `(interval 3 s x fall 10); clients through the VIP were refused for ${outageEnd} ms`);
    expect(movedMs).toBeLessThan(60_000);

    const t1 = Date.now();
    await tb.exec(cp1, ['systemctl', 'start', 'haproxy']);
    const backMs = await waitSoleHolder(tb, lbs, vip, cp1, 60_000);
    report(`haproxy started again on ${cp1.name}: check passes (rise 2), VIP back on ${cp1.name} after ${Date.now() - t1 - 3_000} ms (${backMs} ms to first hold)`);
    await waitVipServes(vip, 30_000);
  }, 240_000);

  it('still changes nothing after the failovers and restarts (fresh journal)', async () => {
    const r = await apply(c, new MemoryJournal());
    expect(r.summary.failures).toEqual([]);
    expect(r.summary.changed).toBe(0);
    expect(changes(r).changed).toEqual([]);
    for (const h of lbs) expect(await fileIdentity(tb, h, LB_FILES), h.name).toEqual(identities.get(h.name));
    expect(await vipHolders(tb, lbs, vip)).toEqual([cp1.name]);
    report(`apply after the failovers, fresh journal: 0 changed, ${r.summary.skipped} skipped in ${r.ms} ms`);
  }, 300_000);
});
