// The test bed itself, end to end on real containers: 3 hosts boot systemd and sshd, the run's key and the
// collected host keys work with a real ssh client, the offline bundle installs with dpkg alone, and keepalived
// moves a VIP between two hosts when the holder stops. Prints the measured times.
// Needs `npm run testbed:setup` (root) first; run with `npx vitest run --project testbed`.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecError } from '../../src/executors/executor.js';
import { createTestbed, readBanner, sleep, type Testbed, type TestbedHost, waitFor } from './testbed.js';

const report = (line: string) => console.log(`[testbed] ${line}`);

/** the real ssh client, config-free, strict host key checking against the given known_hosts */
function ssh(tb: Testbed, user: string, host: TestbedHost, command: string, knownHosts = tb.knownHostsPath) {
  return spawnSync(
    'ssh',
    [
      '-F', '/dev/null', '-i', tb.privateKeyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'ConnectTimeout=10', `${user}@${host.address}`, command,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
}

describe('testbed: 3 host-containers', () => {
  let tb: Testbed;
  let h1: TestbedHost;
  let h2: TestbedHost;
  let h3: TestbedHost;

  beforeAll(async () => {
    tb = await createTestbed({ name: 'smoke', hosts: 3, log: report });
    [h1, h2, h3] = tb.hosts as [TestbedHost, TestbedHost, TestbedHost];
    const t = tb.timings;
    report(`createTestbed(3 hosts): ${t.totalMs} ms total; network ${t.networkMs} ms, docker run ${t.runMs} ms, run->ready ${t.readyMs} ms`);
  }, 300_000);

  afterAll(async () => {
    if (!tb) return;
    const ids = tb.hosts.map((h) => h.containerId);
    await tb.destroy();
    // nothing of the run is left: no container, no network
    const left = spawnSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=airgap-k8s.testbed=${tb.runId}`], { encoding: 'utf8' });
    expect(left.stdout.trim()).toBe('');
    expect(ids.every((id) => !left.stdout.includes(id))).toBe(true);
    const net = spawnSync('docker', ['network', 'inspect', tb.network.name], { encoding: 'utf8' });
    expect(net.status).not.toBe(0);
  }, 180_000);

  it('runs systemd as PID 1, fully started, on every host', async () => {
    for (const h of tb.hosts) {
      const state = await tb.exec(h, ['systemctl', 'is-system-running'], { allowFailure: true });
      expect(state.stdout.trim(), `${h.name}: ${state.stdout}${state.stderr}`).toBe('running');
      expect((await tb.exec(h, ['cat', '/proc/1/comm'])).stdout.trim()).toBe('systemd');
      expect((await tb.exec(h, ['hostname'])).stdout.trim()).toBe(h.name);
      const addr = (await tb.exec(h, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.interface])).stdout;
      expect(addr).toContain(` ${h.address}/${tb.network.prefixLength} `);
    }
  });

  it('reports a failing command as an ExecError with the host and exit code', async () => {
    const err = await tb.exec(h1, ['sh', '-c', 'echo oops >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).host).toBe(h1.name);
    expect((err as ExecError).result.exitCode).toBe(3);
    expect((err as ExecError).message).toContain('oops');
  });

  it('answers SSH on port 22 of every address, from this machine', async () => {
    for (const h of tb.hosts) expect(await readBanner(h.address, 22)).toMatch(/^SSH-2\.0-OpenSSH_9\.2p1/);
  });

  it('gives every host its own host key, and the run key logs in as root and as airgap (sudo)', () => {
    expect(new Set(tb.hosts.map((h) => h.hostKeyFingerprint)).size).toBe(tb.hosts.length);
    for (const h of tb.hosts) {
      expect(h.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      const root = ssh(tb, 'root', h, 'hostname');
      expect(root.status, root.stderr).toBe(0);
      expect(root.stdout.trim()).toBe(h.name);
      const user = ssh(tb, 'airgap', h, 'sudo -n id -u');
      expect(user.status, user.stderr).toBe(0);
      expect(user.stdout.trim()).toBe('0');
    }
    // the collected host keys are what makes strict checking pass: without them the client refuses
    const empty = join(tb.privateKeyPath, '..', 'known_hosts.empty');
    writeFileSync(empty, '');
    const refused = ssh(tb, 'root', h1, 'true', empty);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/Host key verification failed/);
  });

  it('installs keepalived and haproxy from the offline bundle with dpkg alone', async () => {
    const debs = readdirSync(tb.bundleDir).filter((f) => f.endsWith('.deb'));
    expect(debs.some((f) => f.startsWith('keepalived_'))).toBe(true);
    expect(debs.some((f) => f.startsWith('haproxy_'))).toBe(true);
    for (const h of tb.hosts) {
      // the image does not have them: they can only come from the bundle
      const absent = await tb.exec(h, ['sh', '-c', 'command -v keepalived || command -v haproxy'], { allowFailure: true });
      expect(absent.exitCode, `${h.name}: ${absent.stdout}`).not.toBe(0);
    }
    await Promise.all(
      [h1, h2].map(async (h) => {
        const t0 = Date.now();
        await tb.copyTo(h, tb.bundleDir, '/tmp/bundle');
        await tb.exec(h, ['sh', '-c', 'dpkg -i /tmp/bundle/*.deb'], { timeoutMs: 240_000 });
        report(`${h.name}: ${debs.length} .debs copied and installed with dpkg -i in ${Date.now() - t0} ms`);
        const status = await tb.exec(h, ['dpkg-query', '-W', '-f', '${Package} ${db:Status-Abbrev}\n', 'keepalived', 'haproxy']);
        expect(status.stdout).toMatch(/^keepalived ii /m);
        expect(status.stdout).toMatch(/^haproxy ii /m);
        const kv = await tb.exec(h, ['keepalived', '-v']);
        expect(kv.stdout + kv.stderr).toMatch(/Keepalived v2\.2\./);
        expect((await tb.exec(h, ['haproxy', '-v'])).stdout).toMatch(/HAProxy version 2\.6\./);
      }),
    );
  }, 300_000);

  it('moves a keepalived VIP to the other host when the holder stops, and back', async () => {
    const vip = tb.network.spareAddresses[0]!;
    const lbs = [h1, h2];
    const conf = (h: TestbedHost, priority: number) =>
      [
        '# written by test/testbed/smoke.test.ts',
        'global_defs {',
        `  router_id ${h.name}`,
        '}',
        'vrrp_instance VI_SMOKE {',
        '  state BACKUP',
        `  interface ${h.interface}`,
        '  virtual_router_id 51',
        `  priority ${priority}`,
        '  advert_int 1',
        '  authentication {',
        '    auth_type PASS',
        '    auth_pass smoke1',
        '  }',
        '  virtual_ipaddress {',
        `    ${vip}/${tb.network.prefixLength} dev ${h.interface}`,
        '  }',
        '}',
        '',
      ].join('\n');
    for (const [h, prio] of [[h1, 150], [h2, 100]] as const) {
      await tb.writeFile(h, '/etc/keepalived/keepalived.conf', conf(h, prio));
      await tb.exec(h, ['keepalived', '-t', '-f', '/etc/keepalived/keepalived.conf']);
      await tb.exec(h, ['systemctl', 'restart', 'keepalived']);
      await tb.exec(h, ['systemctl', 'is-active', 'keepalived']);
    }
    const holds = async (h: TestbedHost) =>
      (await tb.exec(h, ['ip', '-4', '-o', 'addr', 'show', 'dev', h.interface], { timeoutMs: 10_000 })).stdout.includes(` ${vip}/`);
    const holders = async (hosts: TestbedHost[]) => {
      const r = await Promise.all(hosts.map(async (h) => ((await holds(h)) ? h.name : undefined)));
      return r.filter((n): n is string => n !== undefined);
    };
    /** waits until exactly `want` holds the VIP among `hosts`, and for a further 3 s stays so */
    const expectSoleHolder = async (hosts: TestbedHost[], want: TestbedHost, timeoutMs: number) => {
      await waitFor(`${want.name} alone holding ${vip}`, async () => {
        const now = await holders(hosts);
        return now.length === 1 && now[0] === want.name ? true : undefined;
      }, { timeoutMs, intervalMs: 200 });
      await sleep(3_000);
      expect(await holders(hosts)).toEqual([want.name]);
    };
    /** stops (or kills) the holder and measures until the other host has the VIP */
    const failover = async (from: TestbedHost, to: TestbedHost, kill: boolean) => {
      const t0 = Date.now();
      let stoppedMs = -1;
      const stopping = tb.stop(from, { kill }).then(() => (stoppedMs = Date.now() - t0));
      const moved = await waitFor(`${vip} on ${to.name}`, async () => ((await holds(to)) ? Date.now() - t0 : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      await stopping;
      report(`VIP failover after \`docker ${kill ? 'kill' : 'stop'}\` of ${from.name}: ${moved} ms to ${to.name} ` +
        `(docker ${kill ? 'kill' : 'stop'} returned after ${stoppedMs} ms)`);
      return moved;
    };

    const tStart = Date.now();
    await expectSoleHolder(lbs, h1, 20_000);
    report(`VIP ${vip} held by ${h1.name} (priority 150) alone, ${Date.now() - tStart - 3_000} ms after keepalived start`);

    const stopMs = await failover(h1, h2, false);
    expect(stopMs).toBeLessThan(15_000);
    await expectSoleHolder([h2], h2, 5_000);
    // the VIP answers on the network from a host that runs no keepalived
    await tb.exec(h3, ['ping', '-c', '1', '-W', '2', vip]);

    // the holder comes back (same address, same files; keepalived enabled) and, with the higher priority, takes over
    const tBack = Date.now();
    await tb.start(h1);
    await expectSoleHolder(lbs, h1, 30_000);
    report(`${h1.name} restarted and took the VIP back in ${Date.now() - tBack - 3_000} ms (incl. boot)`);

    // an abrupt death: no goodbye advertisement, the backup waits out the master-down interval
    const killMs = await failover(h1, h2, true);
    expect(killMs).toBeLessThan(15_000);
    await expectSoleHolder([h2], h2, 5_000);
    await tb.exec(h3, ['ping', '-c', '1', '-W', '2', vip]);
  }, 240_000);
});
