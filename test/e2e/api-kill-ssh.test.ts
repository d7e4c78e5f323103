// Durability of the REST service over the SSH executor (issue 5): the real server process (`airgap-k8s serve`,
// node + tsx) runs an install over ssh against 3 test-bed host-containers (sudo user `airgap`, host keys pinned by
// fingerprint); the test kills it with SIGKILL while the distribute phase is uploading the offline bundle, starts
// it again on the same data directory and port, and checks that the job is still there, resumes from its journal,
// and does not start again any step that had finished before the kill (read-only checks excepted: they re-run by
// design); the files uploaded before the kill are untouched (same inode and mtime), the rest arrive after it.
//
// What is exercised, and what is not: the service runs the WHOLE plan (the API has no phase filter). The phase after
// distribute is prepare-os, whose script writes sysctls — in a privileged container those are this machine's kernel
// settings, shared with everyone (see ha-lb.test.ts) — and the phases after it need a real kubeadm. So the third
// host is made to fail its uploads on purpose (/data is a read-only FILE there, so `mkdir -p /data/k8s/...` fails):
// the distribute phase fails on k3 only, and the runner stops before prepare-os. The install therefore ends
// `failed` at distribute/k3 — asserted — and the resume is checked on preflight + distribute of k1 and k2 (real
// uploads of real .debs and image archives, verified with sha256 on the hosts). AIRGAP_K8S_CONCURRENCY=1 makes the
// hosts go one at a time (k1, k2, k3), so the kill lands in the middle of the uploads.
//
// The bundle is made here as test/bundle/bundle.test.ts makes it (cached .debs from test/bundle/setup.sh, stand-in
// kubeadm/kubelet/... .debs, a FROM-scratch image saved with docker), without the model. Needs root, the test bed
// (`npm run testbed:setup`) and the bundle cache (`npm run test:bundle` once). Prints timings with [api-kill-ssh].
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tar } from '../../src/bundle/io/tar.js';
import { bundleContents } from '../../src/bundle/contents.js';
import { packagesPath } from '../../src/bundle/layout.js';
import { packBundle } from '../../src/bundle/io/pack.js';
import { TarScanner } from '../../src/bundle/io/tar-scan.js';
import { completeSecrets, parseSecrets, writeSecretsFile } from '../../src/secrets/secrets.js';
import { deriveView } from '../../src/spec/derive.js';
import { parseSpec } from '../../src/spec/load.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import { FIXTURES, ROOT } from '../support/fixtures.js';
import { createTestbed, type Testbed } from '../testbed/testbed.js';
import { retag, sh, standInDeb } from '../bundle/ingredients.js';
import { children, type Ev, follow as followJob, freePort, serve, until } from './api-support.js';

const follow = (o: Omit<Parameters<typeof followJob>[0], 'token'>) => followJob({ ...o, token: TOKEN });

const report = (line: string) => console.log(`[api-kill-ssh] ${line}`);
const CACHE = join(process.env.AIRGAP_K8S_CACHE || '/var/cache/airgap-k8s', 'bundle-test', 'current');
const BUNDLE_DIR = '/data/k8s';
const NAME = 'kill-ssh';
const TOKEN = 'kill-ssh-test-token-0123456789';

function specText(tb: Testbed): string {
  const [a, b, c] = tb.hosts;
  const host = (h: typeof a, roles: string) => `    - {name: ${h!.name}, address: ${h!.address}, roles: [${roles}], interface: eth0, os: debian12, ssh: {hostKeyFingerprint: "${h!.hostKeyFingerprint}"}}`;
  return `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: ${NAME}}
spec:
  kubernetesVersion: v1.34.3
  hosts:
${host(a, 'control-plane, load-balancer')}
${host(b, 'control-plane, load-balancer')}
${host(c, 'control-plane')}
  ssh: {user: airgap, port: 22, privateKeyRef: default}
  controlPlane:
    endpoint: {host: ${tb.network.spareAddresses[0]}, port: 6553}
    loadBalancer: {mode: keepalived-haproxy, virtualRouterId: 51, authPassRef: vrrp}
  network: {hostSubnet: ${tb.network.subnet}, podSubnet: 192.168.0.0/16, serviceSubnet: 10.96.0.0/12}
  containerRuntime: {containerd: {version: 1.6.20}}
  offline: {bundleDir: ${BUNDLE_DIR}}
  addons:
    cni: {calico: {version: v3.27.0, mode: manifest}}
    storage: {localPath: {enabled: false}}
    dashboard: {enabled: false}
    gpuOperator: {enabled: false}
    monitoring: {enabled: false}
`;
}

type PlanStep = { id: string; host: string | null; kind: string; phase: string; readOnly?: boolean; localPath?: string; remotePath?: string };

describe('REST service over ssh on the test bed: kill -9 mid-install, restart, resume', () => {
  let tb: Testbed;
  let work: string;
  let bundle: string;
  let spec: ClusterSpec;
  const localTag = `airgap-k8s-api-kill-ssh/hello:${Date.now().toString(36)}`;

  beforeAll(async () => {
    if (!existsSync(CACHE)) throw new Error(`${CACHE} is missing: run \`npm run test:bundle\` (test/bundle/setup.sh) as root`);
    tb = await createTestbed({ name: 'apikill', hosts: ['k1', 'k2', 'k3'], log: report });
    report(`test bed: ${tb.hosts.map((h) => `${h.name}=${h.address}`).join(' ')}; ready in ${tb.timings.totalMs} ms`);
    const parsed = parseSpec(specText(tb));
    if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    spec = parsed.spec;
    const view = deriveView(spec);
    work = mkdtempSync(join(tmpdir(), 'api-kill-ssh-'));
    bundle = join(work, 'bundle');

    const t0 = Date.now();
    for (const r of bundleContents(view)) if (r.kind === 'os-package') mkdirSync(join(bundle, r.path), { recursive: true });
    cpSync(join(CACHE, 'containerd'), join(bundle, packagesPath('debian12', 'containerd')), { recursive: true });
    cpSync(join(CACHE, 'kubernetes'), join(bundle, packagesPath('debian12', 'kubernetes')), { recursive: true });
    for (const [name, version] of [['kubeadm', '1.34.3-1.1'], ['kubelet', '1.34.3-1.1'], ['kubectl', '1.34.3-1.1'], ['cri-tools', '1.34.0-1.1'], ['kubernetes-cni', '1.7.1-1.1']] as const) {
      standInDeb(join(bundle, packagesPath('debian12', 'kubernetes')), name, version);
    }
    for (const f of readdirSync(tb.bundleDir).filter((f) => f.endsWith('.deb'))) cpSync(join(tb.bundleDir, f), join(bundle, packagesPath('debian12', 'load-balancer'), f));
    const ctx = join(work, 'image');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'hello.txt'), 'hello from the airgap-k8s api kill test\n');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    sh(['docker', 'build', '-q', '-t', localTag, ctx]);
    const saved = join(work, 'saved.tar');
    sh(['docker', 'save', '-o', saved, localTag]);
    const archive = readFileSync(saved);
    mkdirSync(join(bundle, 'images'), { recursive: true });
    for (const r of bundleContents(view)) if (r.kind === 'image') writeFileSync(join(bundle, r.path), retag(archive, r.image));
    mkdirSync(join(bundle, 'manifests'));
    cpSync(join(FIXTURES, 'upstream/calico-excerpt.yaml'), join(bundle, 'manifests/calico-v3.27.0.yaml'));
    const packed = await packBundle(bundle);
    if (packed.issues.length) throw new Error(`bundle: ${JSON.stringify(packed.issues)}`);
    report(`bundle made in ${Date.now() - t0} ms: ${packed.files} files, ${(packed.bytes / 1048576).toFixed(1)} MiB`);

    // k3 cannot take uploads: /data is a read-only regular file there (the guard that keeps prepare-os from running)
    await tb.exec('k3', ['sh', '-c', 'rm -rf /data && : > /data && chmod 444 /data']);
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    spawnSync('docker', ['rmi', localTag], { stdio: 'ignore' });
    try {
      await tb?.destroy();
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);

  it('the job survives kill -9 during distribute over ssh and resumes without restarting finished uploads (ends failed at distribute/k3, on purpose)', async () => {
    const dataDir = join(work, 'data');
    const secretsDir = join(work, 'secrets');
    mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    // the cluster's secrets file, as the service looks it up (<secretsDir>/<name>.secrets.yaml): TEST-ONLY values,
    // the SSH key the test bed authorised for `airgap`
    const s = parseSecrets(readFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), 'utf8'));
    if (!s.ok) throw new Error('test secrets invalid');
    writeSecretsFile(join(secretsDir, `${NAME}.secrets.yaml`), completeSecrets({ ...s.secrets, sshKeys: { default: { path: tb.privateKeyPath } } }, spec).secrets);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      AIRGAP_K8S_LISTEN: `127.0.0.1:${port}`, AIRGAP_K8S_DATA_DIR: dataDir, AIRGAP_K8S_SECRETS_DIR: secretsDir, AIRGAP_K8S_TOKEN: TOKEN,
      AIRGAP_K8S_EXECUTOR: 'ssh', AIRGAP_K8S_BUNDLE_DIR: bundle, AIRGAP_K8S_CONCURRENCY: '1',
    };
    const auth = { authorization: `Bearer ${TOKEN}` };
    const t: Record<string, number> = {};

    let t0 = Date.now();
    const s1 = serve(env);
    await until(() => s1.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen', s1);
    t.startMs = Date.now() - t0;

    const post = await fetch(`${url}/clusters?executor=ssh`, { method: 'POST', headers: { ...auth, 'content-type': 'application/yaml' }, body: specText(tb), signal: AbortSignal.timeout(30_000) });
    expect(post.status, await post.clone().text()).toBe(202);
    const { id, executor } = (await post.json()) as { id: string; executor: string };
    expect(executor).toBe('ssh');
    const tPost = Date.now();

    // the plan (ready once the job has rendered it)
    let plan: { phases: { name: string; steps: PlanStep[] }[] } | undefined;
    const tPlan = Date.now();
    while (!plan) {
      if (Date.now() - tPlan > 60_000) throw new Error(`no plan for ${id}\n${s1.stderr().slice(-3000)}`);
      const r = await fetch(`${url}/clusters/${id}/plan`, { headers: auth, signal: AbortSignal.timeout(10_000) });
      if (r.ok) plan = (await r.json()) as typeof plan;
      else await new Promise((res) => setTimeout(res, 100));
    }
    const steps = plan!.phases.flatMap((p) => p.steps);
    const readOnly = new Set(steps.filter((x) => x.readOnly).map((x) => x.id));
    const uploads = steps.filter((x) => x.kind === 'upload');
    const uploadsOf = (h: string) => uploads.filter((x) => x.host === h);
    expect(uploadsOf('k1').length).toBeGreaterThan(3);
    expect(uploadsOf('k2').length).toBeGreaterThan(3);

    // follow until 3 uploads have finished, then kill -9 at once
    const before: Ev[] = [];
    const stop = new AbortController();
    await follow({
      url, id, ms: 120_000, stop,
      onEvent: (e) => {
        before.push(e);
        if (before.filter((x) => x.type === 'step-finished' && x.stepId?.startsWith('distribute/')).length >= 3) stop.abort();
      },
    });
    s1.child.kill('SIGKILL');
    await s1.exited;
    t.postToKillMs = Date.now() - tPost;
    expect(before.filter((x) => x.type === 'step-finished' && x.stepId?.startsWith('distribute/')).length, s1.stderr().slice(-3000)).toBeGreaterThanOrEqual(3);
    expect(before.some((e) => e.type === 'status' && ['succeeded', 'failed', 'cancelled'].includes(e.status!))).toBe(false);

    // identity of every file whose upload had finished when we stopped reading (more may have finished before the kill)
    // an upload is a file or a directory of files: every regular file under it, with inode, mtime and size
    const ident = async (st: PlanStep) => (await tb.exec(st.host!, ['sh', '-c', 'find "$1" -type f -printf "%p %i %T@ %s\\n" | sort', 'ident', st.remotePath!])).stdout;
    const seenFinished = before.filter((e) => e.type === 'step-finished' && e.stepId?.startsWith('distribute/')).map((e) => steps.find((x) => x.id === e.stepId)!);
    const identBefore = new Map<string, string>();
    for (const st of seenFinished) identBefore.set(st.id, await ident(st));
    for (const [sid, i0] of identBefore) expect(i0, sid).toMatch(/\S/);

    // restart on the same data directory and port
    t0 = Date.now();
    const s2 = serve(env);
    await until(() => s2.stderr().includes('"msg":"recovered"'), 30_000, 'the server to recover', s2);
    t.restartToRecoveredMs = Date.now() - t0;
    const listed = (await (await fetch(`${url}/clusters/${id}`, { headers: auth, signal: AbortSignal.timeout(10_000) })).json()) as { id: string; status: string };
    expect(listed.id).toBe(id);

    const after: Ev[] = [];
    const final = await follow({ url, id, ms: 240_000, onEvent: (e) => after.push(e) });
    t.restartToEndMs = Date.now() - t0;
    expect(final?.status, s2.stderr().slice(-3000)).toBe('failed');

    const all = [...before, ...after.filter((e) => e.seq > before.at(-1)!.seq)];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1)); // no gap, no duplicate
    const resumedAt = all.findIndex((e) => e.type === 'status' && e.reason === 'resumed after a server restart');
    expect(resumedAt).toBeGreaterThan(0);
    const finishedBeforeKill = new Set(all.slice(0, resumedAt).filter((e) => e.type === 'step-finished').map((e) => e.stepId!));
    const mutatingBefore = [...finishedBeforeKill].filter((x) => !readOnly.has(x));
    expect(mutatingBefore.length).toBeGreaterThanOrEqual(3);
    const startedAfter = all.slice(resumedAt).filter((e) => e.type === 'step-started').map((e) => e.stepId!);
    expect(startedAfter.filter((x) => finishedBeforeKill.has(x) && !readOnly.has(x))).toEqual([]);
    const skippedAfter = new Set(all.slice(resumedAt).filter((e) => e.type === 'step-skipped').map((e) => e.stepId!));
    expect(mutatingBefore.filter((x) => !skippedAfter.has(x))).toEqual([]);
    // the resumed run did real work over ssh: uploads that had not finished before the kill
    const finishedAfter = all.slice(resumedAt).filter((e) => e.type === 'step-finished' && e.stepId?.startsWith('distribute/')).map((e) => e.stepId!);
    expect(finishedAfter.length).toBeGreaterThan(0);

    // it failed where it was made to: k3's uploads, in distribute; prepare-os never started
    const failedSteps = all.filter((e) => e.type === 'step-failed').map((e) => e.stepId!);
    expect(failedSteps.length).toBeGreaterThan(0);
    for (const f of failedSteps) expect(f).toMatch(/^distribute\/k3\//);
    expect(all.some((e) => e.type === 'phase-started' && e.phase === 'prepare-os')).toBe(false);
    expect(all.filter((e) => e.type === 'phase-finished' && e.phase === 'distribute').at(-1)?.ok).toBe(false);

    // on the hosts: every k1/k2 upload is there with the bundle's sha256; those finished before the kill untouched
    const localSums = (p: string): string[] => {
      const full = join(bundle, p);
      if (!statSync(full).isDirectory()) return [`${createHash('sha256').update(readFileSync(full)).digest('hex')}  .`];
      return readdirSync(full, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => { const f = join(d.parentPath, d.name); return `${createHash('sha256').update(readFileSync(f)).digest('hex')}  ./${relative(full, f)}`; })
        .sort();
    };
    let filesChecked = 0;
    for (const st of [...uploadsOf('k1'), ...uploadsOf('k2')]) {
      const script = 'if [ -d "$1" ]; then cd "$1" && find . -type f -exec sha256sum {} + | sort -k2; else sha256sum "$1" | sed "s#  .*#  .#"; fi';
      const remote = (await tb.exec(st.host!, ['sh', '-c', script, 'sums', st.remotePath!])).stdout.split('\n').filter(Boolean).sort();
      const local = localSums(st.localPath!);
      expect(local.length, st.localPath).toBeGreaterThan(0);
      expect(remote, `${st.host}:${st.remotePath}`).toEqual(local);
      filesChecked += local.length;
    }
    for (const [sid, id0] of identBefore) expect(await ident(steps.find((x) => x.id === sid)!), sid).toBe(id0);

    const detail = (await (await fetch(`${url}/clusters/${id}`, { headers: auth, signal: AbortSignal.timeout(10_000) })).json()) as { status: string; runs: number };
    expect(detail).toMatchObject({ status: 'failed', runs: 2 });
    s2.child.kill('SIGTERM');
    expect(await s2.exited).toBe(0);

    report(
      `${steps.length} steps (${uploads.length} uploads); ${finishedBeforeKill.size} finished before the kill (${mutatingBefore.length} mutating, all skipped after the restart, 0 started again); ` +
        `${finishedAfter.length} uploads finished after it; ${filesChecked} files on k1+k2 match the bundle's sha256; failed at ${[...new Set(failedSteps)].join(', ')} (${failedSteps.length} attempts) as arranged. server start ${t.startMs} ms, POST->kill ${t.postToKillMs} ms, ` +
        `restart->recovered ${t.restartToRecoveredMs} ms, restart->end ${t.restartToEndMs} ms`,
    );
  }, 420_000);
});
