// The kind executor against REAL containers: the conformance suite in a privileged systemd host container of the
// test bed (test/testbed/testbed.ts), then what only kind has: finding a node container by its labels and address,
// and a container that is stopped, killed under a running command, or removed.
// Needs docker and the test-bed image (`npm run testbed:setup`, root); runs in the `testbed` vitest project
// (`npm run test:testbed`), not in `executors`, whose tier has no docker.
import { hostname as machineName } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecConnectionError, ExecError } from '../../src/executors/executor.js';
import { writeFileAtomic } from '../../src/executors/ops.js';
import { KindExecutor, kindExecutorForHost, NODE_CLUSTER_LABEL, NODE_HOST_LABEL } from '../../src/executors/kind/kind.js';
import type { HostView } from '../../src/spec/derive.js';
import { createTestbed, LABEL, runLocal, type Testbed } from '../testbed/testbed.js';
import { executorConformance } from '../../src/executors/conformance.js';

const report = (line: string) => console.log(`[kind] ${line}`);
let tb: Testbed;

beforeAll(async () => {
  tb = await createTestbed({ name: 'kind-exec', hosts: ['node1'], log: report });
  report(`host container ready in ${tb.timings.totalMs} ms`);
}, 300_000);

afterAll(async () => {
  // removes the host container and, by the run's label, every extra container made below
  await tb?.destroy();
}, 180_000);

executorConformance('kind (docker exec into a privileged systemd host container)', () => new KindExecutor({ host: 'node1', container: tb.hosts[0]!.containerId }));

async function docker(args: string[]): Promise<string> {
  const r = await runLocal(['docker', ...args], { timeoutMs: 60_000 });
  if (r.exitCode !== 0) throw new ExecError('localhost', ['docker', ...args], r);
  return r.stdout.trim();
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('kind: files docker bind-mounts into every container', () => {
  it('writeFileAtomic replaces a bind-mounted /etc/hostname in place (a rename over a mount point fails with EBUSY)', async () => {
    const exec = new KindExecutor({ host: 'node1', container: tb.hosts[0]!.containerId });
    const before = (await exec.run(['cat', '/etc/hostname'])).stdout;
    await writeFileAtomic(exec, '/etc/hostname', '# a comment line\nnode1\n', { mode: '0644' });
    expect((await exec.run(['cat', '/etc/hostname'])).stdout).toBe('# a comment line\nnode1\n');
    expect((await exec.run(['sh', '-c', 'ls /etc/hostname.airgap-tmp.* 2>/dev/null | wc -l'])).stdout.trim()).toBe('0');
    expect((await exec.run(['stat', '-c', '%a', '/etc/hostname'])).stdout.trim()).toBe('644');
    // a failure that is not a mount point still fails: a directory in the way
    await exec.run(['mkdir', '-p', '/tmp/airgap-dir-in-the-way']);
    await expect(writeFileAtomic(exec, '/tmp/airgap-dir-in-the-way', 'x', { mode: '0644' })).rejects.toThrow(/is a directory/);
    await writeFileAtomic(exec, '/etc/hostname', before, { mode: '0644' });
  });
});

describe('kind: node containers by label, and containers that stop or go away', () => {
  const cluster = `kind-test-${process.pid}`;
  let spare = 0;

  /**
   * A plain (not systemd) container of the test-bed image on the test network with node labels; it carries the test
   * bed's run labels, so tb.destroy() (or the next run's sweep, should this process die) removes it.
   */
  async function node(labels: Record<string, string>, o: { address?: string } = {}): Promise<{ id: string; address: string }> {
    const address = o.address ?? tb.network.spareAddresses[spare++]!;
    const id = await docker([
      'run', '-d', '--network', tb.network.name, '--ip', address, '--stop-timeout', '1',
      '--label', `${LABEL}=${tb.runId}`, '--label', `${LABEL}.owner-pid=${process.pid}`, '--label', `${LABEL}.owner-machine=${machineName()}`,
      ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      tb.image, 'sleep', 'infinity',
    ]);
    return { id, address };
  }

  const host = (name: string, address: string) => ({ name, address }) as HostView;

  it('finds the container labelled with the host (and cluster) that holds the spec address', async () => {
    const a = await node({ [NODE_HOST_LABEL]: 'cp1', [NODE_CLUSTER_LABEL]: cluster });
    // the same host name in another cluster, on another address
    await node({ [NODE_HOST_LABEL]: 'cp1', [NODE_CLUSTER_LABEL]: `${cluster}-other` });
    // a container's hostname is its short id unless set
    const id = async (e: KindExecutor) => (await e.run(['hostname'])).stdout.trim() === a.id.slice(0, 12);
    // the CLI's factory: host + cluster + address
    expect(await id(kindExecutorForHost(host('cp1', a.address), { cluster }))).toBe(true);
    // the REST service's: host + address only; the address tells the two clusters' cp1 apart
    expect(await id(kindExecutorForHost(host('cp1', a.address)))).toBe(true);
  });

  it('refuses to guess: no labelled container, none with the spec address, several matches (not retryable)', async () => {
    const none = await rejection(kindExecutorForHost(host('nobody', '172.31.0.9'), { cluster }).run(['true']));
    expect(none).toBeInstanceOf(ExecConnectionError);
    expect((none as ExecConnectionError).retryable).toBe(false);
    expect(none.message).toContain(`nothing is labelled ${NODE_HOST_LABEL}=nobody, ${NODE_CLUSTER_LABEL}=${cluster}`);

    const w = await node({ [NODE_HOST_LABEL]: 'w1', [NODE_CLUSTER_LABEL]: cluster });
    const wrong = await rejection(kindExecutorForHost(host('w1', '172.31.0.9'), { cluster }).run(['true']));
    expect((wrong as ExecConnectionError).retryable).toBe(false);
    expect(wrong.message).toContain("spec's address 172.31.0.9");
    expect(wrong.message).toContain(w.address);

    await node({ [NODE_HOST_LABEL]: 'w2', [NODE_CLUSTER_LABEL]: cluster });
    await node({ [NODE_HOST_LABEL]: 'w2', [NODE_CLUSTER_LABEL]: cluster });
    const several = await rejection(new KindExecutor({ host: 'w2', container: { host: 'w2', cluster } }).run(['true']));
    expect((several as ExecConnectionError).retryable).toBe(false);
    expect(several.message).toContain('several node containers');
  });

  it('a stopped container is a retryable connection error; after docker start the same executor works again', async () => {
    const c = await node({});
    const exec = new KindExecutor({ host: 'stopper', container: c.id });
    expect((await exec.run(['echo', 'up'])).stdout).toBe('up\n');
    await docker(['kill', c.id]);
    const err = await rejection(exec.run(['true']));
    expect(err).toBeInstanceOf(ExecConnectionError);
    expect((err as ExecConnectionError).retryable).toBe(true);
    expect(err.message).toMatch(/^stopper: container \w+ is stopped or paused \(docker: .*is not running/);
    await docker(['start', c.id]);
    expect((await exec.run(['echo', 'back'])).stdout).toBe('back\n');
  });

  it('a container killed while a command runs fails that command with a retryable connection error, promptly', async () => {
    const c = await node({});
    const exec = new KindExecutor({ host: 'victim', container: c.id });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const pending = rejection(exec.run(['sh', '-c', 'echo started; sleep 30'], { onStdout: () => started() }));
    await running;
    const t0 = performance.now();
    await docker(['kill', c.id]);
    const err = await pending;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(ExecConnectionError);
    expect((err as ExecConnectionError).retryable).toBe(true);
    expect(err.message).toContain('while the command ran');
  });

  it('a container shutting down (PID 1 terminates everything first, as systemd does on docker stop) is a connection error, not the command\'s exit 143', async () => {
    const id = await docker([
      'run', '-d', '--network', tb.network.name, '--label', `${LABEL}=${tb.runId}`, '--label', `${LABEL}.owner-pid=${process.pid}`,
      '--label', `${LABEL}.owner-machine=${machineName()}`, tb.image,
      'sh', '-c', 'trap "kill -TERM -1; sleep 3; exit 0" TERM; while :; do sleep 0.2; done',
    ]);
    const exec = new KindExecutor({ host: 'graceful', container: id });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const pending = rejection(exec.run(['sh', '-c', 'echo started; sleep 30'], { onStdout: () => started() }));
    await running;
    const stopping = docker(['stop', '-t', '10', id]);
    const err = await pending;
    expect(err).toBeInstanceOf(ExecConnectionError);
    expect((err as ExecConnectionError).retryable).toBe(true);
    expect(err.message).toMatch(/is being stopped \(docker event kill|stopped \(exited\)/);
    await stopping;
  });

  it('a removed container: not retryable by id; retryable when found by labels (a re-created node is found again)', async () => {
    const c = await node({ [NODE_HOST_LABEL]: 'gone', [NODE_CLUSTER_LABEL]: cluster });
    const byId = new KindExecutor({ host: 'gone', container: c.id });
    const byLabels = kindExecutorForHost(host('gone', c.address), { cluster });
    expect((await byId.run(['true'])).exitCode).toBe(0);
    expect((await byLabels.run(['true'])).exitCode).toBe(0);
    await docker(['rm', '-f', c.id]);
    const e1 = await rejection(byId.run(['true']));
    expect(e1).toBeInstanceOf(ExecConnectionError);
    expect((e1 as ExecConnectionError).retryable).toBe(false);
    expect(e1.message).toContain('is gone');
    const e2 = await rejection(byLabels.run(['true']));
    expect((e2 as ExecConnectionError).retryable).toBe(true);
    // the node comes back (same labels, same address): the next command finds it
    const again = await node({ [NODE_HOST_LABEL]: 'gone', [NODE_CLUSTER_LABEL]: cluster }, { address: c.address });
    expect((await byLabels.run(['hostname'])).stdout.trim()).toBe(again.id.slice(0, 12));
  });

  it('testcontainers ran without Ryuk and pulled nothing', async () => {
    expect(process.env.TESTCONTAINERS_RYUK_DISABLED).toBe('true');
    expect(await docker(['ps', '-aq', '--filter', 'label=org.testcontainers=true'])).toBe('');
    expect(await docker(['images', '-q', 'testcontainers/ryuk'])).toBe('');
    expect(await docker(['images', '-q', 'alpine'])).toBe('');
  });
});
