// Day-two operations through the REST service (POST /operations): certificate renewal and reset of a cluster as its
// last successful install here left it, as jobs like installs (plan, events, status). Commands run on recording
// executors here ("ssh" installs whose hosts are dry-run executors); the real runs are in the cluster e2e tier.
import { afterEach, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { DryRunExecutor } from '../../src/executors/dry-run/dry-run.js';
import type { Plan } from '../../src/plan/types.js';
import { HA_TEXT, harness, type Harness } from './harness.js';

let h: Harness;
afterEach(async () => h?.close());

function installedBefore(): void {
  const id = 'earlier0000000000000000000';
  h.store.insertCluster({ id, name: 'gpu-prod', executor: 'ssh', specInput: yaml.load(HA_TEXT) as unknown, warnings: [] });
  h.store.append(id, { type: 'status', status: 'running' });
  h.store.append(id, { type: 'status', status: 'succeeded' });
}

const recording = () => harness({ seedSecrets: ['gpu-prod'], makeExecutor: (_k, host) => new DryRunExecutor({ host: host.name }) });
const post = (body: unknown, token?: string) =>
  h.app.request('/operations', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? 'test-api-token-0123456789abcdef'}` } });
const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; issues?: { path: string }[] } }).error;

describe('POST /operations', () => {
  it('certs-renew: a job with its plan (one control plane at a time), run to success, listed with its operation', async () => {
    h = recording();
    installedBefore();
    const r = await post({ cluster: 'gpu-prod', operation: 'certs-renew' });
    expect(r.status, await r.clone().text()).toBe(202);
    const { id, executor } = (await r.json()) as { id: string; executor: string };
    expect(executor).toBe('ssh');
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');
    const plan = JSON.parse(h.store.plan(id)!) as Plan;
    expect(plan.phases.map((p) => p.name)).toEqual(['certs-renew']);
    expect(plan.phases[0]!.steps[0]!.id).toBe('certs-renew/master1/renew');
    const list = (await (await h.req('/clusters?name=gpu-prod')).json()) as { items: { id: string; operation: string | null }[] };
    expect(list.items.find((i) => i.id === id)!.operation).toBe('certs-renew');
  });

  it('reset: admin only; without confirm 409 unconfirmed listing every destructive step; confirmed it runs, and the cluster counts as not installed after it', async () => {
    h = recording();
    installedBefore();
    const operator = h.access.createToken('ops-desk', 'operator');
    expect((await post({ cluster: 'gpu-prod', operation: 'reset', confirm: true }, operator)).status).toBe(403);
    const refused = await post({ cluster: 'gpu-prod', operation: 'reset' });
    expect(refused.status).toBe(409);
    const e = await errorOf(refused);
    expect(e.code).toBe('unconfirmed');
    expect(e.issues!.map((i) => i.path)).toContain('reset-control-planes/master1/kubeadm-reset');
    expect(h.store.list({ name: 'gpu-prod', limit: 10 })).toHaveLength(1);

    const ok = await post({ cluster: 'gpu-prod', operation: 'reset', confirm: true, purge: true });
    expect(ok.status, await ok.clone().text()).toBe(202);
    const { id } = (await ok.json()) as { id: string };
    await h.jobs.idle();
    expect(h.store.get(id)!.status).toBe('succeeded');
    const plan = JSON.parse(h.store.plan(id)!) as Plan;
    expect(plan.phases.map((p) => p.name)).toEqual(['reset-workers', 'reset-control-planes']);
    expect(plan.phases.flatMap((p) => p.steps.map((s) => s.id))).toContain('reset-workers/gpu1/packages');
    // reset: the next install is a first install again, and operations need one
    expect((await errorOf(await post({ cluster: 'gpu-prod', operation: 'certs-renew' }))).code).toBe('not_installed');
  });

  it('refused: a cluster never installed here (404), an unknown operation or option (400)', async () => {
    h = recording();
    expect((await errorOf(await post({ cluster: 'gpu-prod', operation: 'certs-renew' }))).code).toBe('not_installed');
    installedBefore();
    expect((await post({ cluster: 'gpu-prod', operation: 'format-disks' })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'certs-renew', purge: true })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'certs-renew', extra: 1 })).status).toBe(400);
  });
});
