// Day-two operations through the REST service (POST /operations): certificate renewal and reset of a cluster as its
// last successful install here left it, as jobs like installs (plan, events, status). Commands run on recording
// executors here ("ssh" installs whose hosts are dry-run executors); the real runs are in the cluster e2e tier.
import { afterEach, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { DryRunExecutor } from '../../src/executors/dry-run/dry-run.js';
import type { Plan } from '../../src/plan/types.js';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { RESTORE_DIR, SNAPSHOT_ON_HOST } from '../../src/day2/etcd.js';
import { HA_TEXT, SECRETS_TOKEN, harness, type Harness } from './harness.js';

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

  it('etcd-snapshot then etcd-restore: the snapshot kept 0600 on the service, downloaded only with the secrets token, restored only by an admin who confirmed, removed with its record', async () => {
    // the control planes answer like hosts holding a snapshot: its sha256 and its bytes (the real ones: cluster e2e tier)
    const bytes = Buffer.from('not really bbolt, but bytes with a digest\n');
    const sha = createHash('sha256').update(bytes).digest('hex');
    h = harness({
      seedSecrets: ['gpu-prod'],
      secretsToken: true,
      makeExecutor: (_k, host) =>
        new DryRunExecutor({
          host: host.name,
          respond: (argv) => {
            const path = argv.at(-1)!;
            // the snapshot taken, and the copy a restore pushes to every control plane
            const held = path === SNAPSHOT_ON_HOST || path === `${RESTORE_DIR}/snapshot.db`;
            if (held && argv[3] === 'airgap-sha256') return { stdout: `${sha}  -\n` };
            if (held && argv[0] === 'cat') return { stdout: bytes.toString('utf8') };
            return undefined;
          },
        }),
    });
    installedBefore();
    expect((await errorOf(await post({ cluster: 'gpu-prod', operation: 'etcd-snapshot', host: 'gpu1' }))).code).toBe('invalid_operation');
    const r = await post({ cluster: 'gpu-prod', operation: 'etcd-snapshot', host: 'master2' });
    expect(r.status, await r.clone().text()).toBe(202);
    const { id } = (await r.json()) as { id: string };
    await h.jobs.idle();
    expect(h.store.get(id)!.status, h.store.get(id)!.error ?? '').toBe('succeeded');
    expect((JSON.parse(h.store.plan(id)!) as Plan).phases[0]!.steps[0]!.id).toBe('etcd-snapshot/master2/save');
    const file = h.jobs.snapshotFile(h.store.get(id)!);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // the download: admins with the secrets token only; its digest in a header
    expect((await h.req(`/clusters/${id}/snapshot`)).status).toBe(403);
    const operator = h.access.createToken('ops-desk', 'operator');
    expect((await h.app.request(`/clusters/${id}/snapshot`, { headers: { authorization: `Bearer ${operator}`, 'x-secrets-token': SECRETS_TOKEN } })).status).toBe(403);
    const dl = await h.req(`/clusters/${id}/snapshot`, { headers: { 'x-secrets-token': SECRETS_TOKEN } });
    expect(dl.status).toBe(200);
    expect(dl.headers.get('x-content-sha256')).toBe(sha);
    expect(Buffer.from(await dl.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await h.req(`/clusters/${id}/snapshot`.replace(id, 'earlier0000000000000000000'), { headers: { 'x-secrets-token': SECRETS_TOKEN } })).status).toBe(404);

    // the restore: admin, confirmed; a snapshot id that is not one is 404
    expect((await post({ cluster: 'gpu-prod', operation: 'etcd-restore', snapshot: id, confirm: true }, operator)).status).toBe(403);
    expect((await errorOf(await post({ cluster: 'gpu-prod', operation: 'etcd-restore', snapshot: 'earlier0000000000000000000', confirm: true }))).code).toBe('snapshot_not_found');
    const unconfirmed = await errorOf(await post({ cluster: 'gpu-prod', operation: 'etcd-restore', snapshot: id }));
    expect(unconfirmed.code).toBe('unconfirmed');
    expect(unconfirmed.issues!.map((i) => i.path).some((p) => p.startsWith('etcd-restore/master1/'))).toBe(true);
    const rr = await post({ cluster: 'gpu-prod', operation: 'etcd-restore', snapshot: id, confirm: true });
    expect(rr.status, await rr.clone().text()).toBe(202);
    const restore = ((await rr.json()) as { id: string }).id;
    await h.jobs.idle();
    expect(h.store.get(restore)!.status, h.store.get(restore)!.error ?? '').toBe('succeeded');
    const steps = (JSON.parse(h.store.plan(restore)!) as Plan).phases.flatMap((p) => p.steps);
    const push = steps.find((s) => s.kind === 'push-file');
    expect(push && push.kind === 'push-file' && push.sha256).toBe(sha);

    // deleting the snapshot's record removes the file; a restore from it is then refused
    expect((await h.req(`/clusters/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(existsSync(file)).toBe(false);
    expect((await errorOf(await post({ cluster: 'gpu-prod', operation: 'etcd-restore', snapshot: id, confirm: true }))).code).toBe('snapshot_not_found');
  });

  it('refused: a cluster never installed here (404), an unknown operation or option (400)', async () => {
    h = recording();
    expect((await errorOf(await post({ cluster: 'gpu-prod', operation: 'certs-renew' }))).code).toBe('not_installed');
    installedBefore();
    expect((await post({ cluster: 'gpu-prod', operation: 'format-disks' })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'certs-renew', purge: true })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'certs-renew', extra: 1 })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'etcd-snapshot', snapshot: 'x' })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'etcd-restore' })).status).toBe(400);
    expect((await post({ cluster: 'gpu-prod', operation: 'etcd-restore', snapshot: '../../etc/passwd', confirm: true })).status).toBe(400);
  });
});
