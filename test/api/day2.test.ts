// Day two through the REST service: POST /clusters of a cluster installed here before runs only the change since
// its last successful install; hosts gone from the spec need confirm=true (409 unconfirmed, listing every
// destructive step, nothing started); a change the running cluster cannot take is 422 change_refused. The real
// runs of these plans are in the cluster e2e tier (test/e2e/day2.ts).
import { afterEach, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { HA_TEXT, harness, type Harness } from './harness.js';
import type { Plan } from '../../src/plan/types.js';

let h: Harness;
afterEach(async () => h?.close());

/** The fixture with one more worker, w9: the earlier install had it, the spec posted now does not. */
const WITH_W9 = HA_TEXT.replace(/^( {4}- \{name: gpu1, .*\n)/m, '$1    - {name: w9, address: 55.192.0.99, roles: [worker], interface: ens0, os: rhel8}\n');

/** An earlier real install of the fixture, recorded as succeeded (as a finished `ssh` install leaves it). */
function installedBefore(text = WITH_W9): string {
  const id = 'earlier00000000000000000000'.slice(0, 26);
  h.store.insertCluster({ id, name: 'gpu-prod', executor: 'ssh', specInput: yaml.load(text) as unknown, warnings: [] });
  h.store.append(id, { type: 'status', status: 'running' });
  h.store.append(id, { type: 'status', status: 'succeeded' });
  return id;
}

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; issues?: { path: string; message: string }[] } }).error;

describe('POST /clusters on a cluster installed before', () => {
  it('a host gone from the spec: 409 unconfirmed naming every destructive step, and nothing recorded; confirm=true gets past it', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    installedBefore();
    const r = await h.post('/clusters?executor=ssh', HA_TEXT);
    expect(r.status).toBe(409);
    const e = await errorOf(r);
    expect(e.code).toBe('unconfirmed');
    expect(e.issues!.map((i) => i.path)).toEqual(['remove-nodes/cluster/w9/drain', 'remove-nodes/w9/reset', 'remove-nodes/cluster/w9/delete-node']);
    expect(h.store.list({ name: 'gpu-prod', limit: 10 })).toHaveLength(1);
    // confirmed, it is refused only for what this server lacks (no bundle here): the confirmation was accepted
    const c = await h.post('/clusters?executor=ssh&confirm=true', HA_TEXT);
    expect(c.status).toBe(409);
    expect((await errorOf(c)).code).toBe('bundle_missing');
  });

  it('a dry run of the change: only the removal and what changes elsewhere are planned, and it runs (a dry run destroys nothing)', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    installedBefore();
    const r = await h.post('/clusters?dryRun=true', HA_TEXT);
    expect(r.status, await r.clone().text()).toBe(202);
    const { id } = (await r.json()) as { id: string };
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');
    const plan = JSON.parse(h.store.plan(id)!) as Plan;
    const ids = plan.phases.flatMap((p) => p.steps.map((s) => s.id));
    expect(plan.phases.map((p) => p.name)).toContain('remove-nodes');
    expect(ids).toContain('remove-nodes/w9/reset');
    // unchanged steps of the hosts that stay are not planned again
    expect(ids.filter((id) => /^container-runtime\/master1\//.test(id))).toEqual([]);
    expect(ids.filter((id) => id.includes('/w9/') && !id.startsWith('remove-nodes/'))).toEqual([]);
  });

  it('a change the running cluster cannot take: 422 change_refused, every reason with its path', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    installedBefore(HA_TEXT);
    const changed = HA_TEXT.replace(/endpoint: \{host: [0-9.]+/, 'endpoint: {host: 55.192.0.201').replace('podSubnet: 192.168.0.0/16', 'podSubnet: 192.169.0.0/16');
    const r = await h.post('/clusters?executor=ssh&confirm=true', changed);
    expect(r.status).toBe(422);
    const e = await errorOf(r);
    expect(e.code).toBe('change_refused');
    expect(e.issues!.map((i) => i.path).sort()).toEqual(['spec.controlPlane.endpoint', 'spec.network.podSubnet']);
  });

  it('kubernetesVersion raised: the upgrade in kubeadm\'s order (to 1.35 with its cgroup preflight); another change with it: 422 change_refused', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    installedBefore(HA_TEXT);
    const up = await h.post('/clusters?dryRun=true', HA_TEXT.replace(/kubernetesVersion: v1\.34\.\d+/, 'kubernetesVersion: v1.34.4'));
    expect(up.status, await up.clone().text()).toBe(202);
    const { id } = (await up.json()) as { id: string };
    await h.jobs.idle();
    const plan = JSON.parse(h.store.plan(id)!) as Plan;
    expect(plan.phases.map((p) => p.name)).toContain('upgrade-first-control-plane');
    expect(plan.phases.flatMap((p) => p.steps.map((s) => s.id))).toContain('upgrade-first-control-plane/master1/upgrade-apply');
    // to the next minor: planned with the cgroup preflight 1.35 needs on every node
    const minor = await h.post('/clusters?dryRun=true', HA_TEXT.replace(/kubernetesVersion: v1\.34\.\d+/, 'kubernetesVersion: v1.35.0'));
    expect(minor.status, await minor.clone().text()).toBe(202);
    const { id: id2 } = (await minor.json()) as { id: string };
    await h.jobs.idle();
    expect((JSON.parse(h.store.plan(id2)!) as Plan).phases.flatMap((p) => p.steps.map((s) => s.id))).toContain('preflight/master1/cgroup-for-v1.35.0');
    const both = await h.post('/clusters?executor=ssh', WITH_W9.replace(/kubernetesVersion: v1\.34\.\d+/, 'kubernetesVersion: v1.34.4'));
    expect(both.status).toBe(422);
    expect((await errorOf(both)).issues!.map((i) => i.path)).toEqual(['spec.hosts']);
  });

  it('the first install of a cluster (no earlier success, or only dry runs) plans everything', async () => {
    h = harness({ seedSecrets: ['gpu-prod'] });
    const r = await h.post('/clusters?dryRun=true', WITH_W9);
    const { id } = (await r.json()) as { id: string };
    await h.jobs.idle();
    const again = await h.post('/clusters?dryRun=true', HA_TEXT);
    const { id: id2 } = (await again.json()) as { id: string };
    await h.jobs.idle();
    for (const x of [id, id2]) {
      const plan = JSON.parse(h.store.plan(x)!) as Plan;
      expect(plan.phases.map((p) => p.name)).not.toContain('remove-nodes');
      expect(plan.phases.flatMap((p) => p.steps.map((s) => s.id))).toContain('container-runtime/master1/service/containerd/enable');
    }
  });
});
