// The offline bundle end to end on the test bed: 3 Debian host-containers with sshd (test/testbed/testbed.ts).
// A bundle made here — real Debian .debs (apt-get download: containerd, runc, conntrack, socat, keepalived, haproxy
// and what the host image lacks for them), stand-in kubeadm/kubelet/kubectl/cri-tools/kubernetes-cni .debs built
// with dpkg-deb, image archives from `docker save` of an image built here FROM scratch (nothing pulled), Calico's
// manifest stand-in and a 384 MiB model file — is packed, verified against the spec, then the real plan runs over
// the ssh executor: the local bundle verification, uploads to the 3 hosts in parallel (one host's connection is
// killed mid-upload and the upload continues where the host says it got), sha256 on the hosts, dpkg installs with
// the idempotency probe, containerd started and the image archives imported with `ctr -n k8s.io images import`.
//
// Needs `npm run test:bundle` (root: scripts/testbed/setup.sh and test/bundle/setup.sh first).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tar } from '../../src/bundle/io/tar.js';
import { bundleContents } from '../../src/bundle/contents.js';
import { bundlePathPresent } from '../../src/bundle/io/distribute.js';
import { imageArchivePath, packagesPath } from '../../src/bundle/layout.js';
import type { BundleManifest } from '../../src/bundle/manifest.js';
import { packBundle } from '../../src/bundle/io/pack.js';
import { localBundle } from '../../src/bundle/io/source.js';
import { TarScanner } from '../../src/bundle/io/tar-scan.js';
import { verifyBundle } from '../../src/bundle/io/verify.js';
import { readUpstream } from '../../src/install/inputs.js';
import type { Executor } from '../../src/executors/executor.js';
import { sshExecutorForHost } from '../../src/executors/ssh/ssh.js';
import { renderView } from '../../src/generators/index.js';
import { planFor } from '../../src/plan/build.js';
import type { Plan, Step } from '../../src/plan/types.js';
import { MemoryJournal } from '../../src/runner/journal.js';
import { runPlan, type RunEvent } from '../../src/runner/runner.js';
import { deriveView, type ClusterView } from '../../src/spec/derive.js';
import { parseSpec } from '../../src/spec/load.js';
import { testInputs } from '../support/fixtures.js';
import { createTestbed, type Testbed } from '../testbed/testbed.js';
import { retag, sh, standInDeb } from './ingredients.js';

const report = (line: string) => console.log(`[bundle] ${line}`);
const CACHE = join(process.env.AIRGAP_K8S_CACHE || '/var/cache/airgap-k8s', 'bundle-test', 'current');
const MODEL = 'models/tiny.gguf';
const MODEL_BYTES = 384 * 1024 * 1024;
const BUNDLE_DIR = '/data/k8s';

function specText(tb: Testbed, offline = `{bundleDir: ${BUNDLE_DIR}}`): string {
  const [a, b, c] = tb.hosts;
  const host = (h: typeof a, roles: string) => `    - {name: ${h!.name}, address: ${h!.address}, roles: [${roles}], interface: eth0, os: debian12, ssh: {hostKeyFingerprint: "${h!.hostKeyFingerprint}"}}`;
  return `apiVersion: airgap-k8s/v1alpha1
kind: Cluster
metadata: {name: bundle-tb}
spec:
  kubernetesVersion: v1.34.3
  hosts:
${host(a, 'control-plane, load-balancer')}
${host(b, 'control-plane, load-balancer')}
${host(c, 'control-plane')}
  ssh: {user: root, port: 22, privateKeyRef: default}
  controlPlane:
    endpoint: {host: ${tb.network.spareAddresses[0]}, port: 6553}
    loadBalancer: {mode: keepalived-haproxy, virtualRouterId: 51, authPassRef: vrrp}
  network: {hostSubnet: ${tb.network.subnet}, podSubnet: 192.168.0.0/16, serviceSubnet: 10.96.0.0/12}
  containerRuntime: {containerd: {version: 1.6.20}}
  offline: ${offline}
  addons:
    cni: {calico: {version: v3.27.0, mode: manifest}}
    storage: {localPath: {enabled: false}}
    dashboard: {enabled: false}
    gpuOperator: {enabled: false}
    monitoring: {enabled: false}
  environments:
    - {name: dev}
  models:
    - {name: tiny, engine: ollama, environment: dev, model: "tiny:1b", modelFile: ${MODEL}, gpus: 0}
`;
}

describe('the offline bundle on the test bed (3 hosts, ssh)', () => {
  let tb: Testbed;
  let view: ClusterView;
  let work: string;
  let dir: string;
  let manifest: BundleManifest;
  let plan: Plan;
  let files: ReturnType<typeof renderView>;
  const executors = new Map<string, Executor>();
  const localTag = `airgap-k8s-bundle-test/hello:${Date.now().toString(36)}`;
  const executor = (host: string): Executor => {
    let e = executors.get(host);
    if (!e) {
      const h = view.hosts.find((x) => x.name === host)!;
      e = sshExecutorForHost(h, { sshKeys: { default: { path: tb.privateKeyPath } } }, { knownHostsFile: tb.knownHostsPath, keepaliveIntervalMs: 2000 });
      executors.set(host, e);
    }
    return e;
  };
  const only = (keep: (s: Step) => boolean): Plan => ({
    ...plan,
    phases: plan.phases.map((p) => ({ ...p, steps: p.steps.filter(keep) })).filter((p) => p.steps.length > 0),
  });

  beforeAll(async () => {
    if (!existsSync(CACHE)) throw new Error(`${CACHE} is missing: run \`npm run test:bundle\` (test/bundle/setup.sh) as root`);
    tb = await createTestbed({ name: 'bundle', hosts: ['b1', 'b2', 'b3'], log: report });
    const parsed = parseSpec(specText(tb));
    if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    view = deriveView(parsed.spec);
    work = mkdtempSync(join(tmpdir(), 'bundle-tb-'));
    dir = join(work, 'bundle');

    // ---- the bundle, made here ----
    const t0 = Date.now();
    for (const r of bundleContents(view)) {
      if (r.kind !== 'os-package') continue;
      mkdirSync(join(dir, r.path), { recursive: true });
    }
    cpSync(join(CACHE, 'containerd'), join(dir, packagesPath('debian12', 'containerd')), { recursive: true });
    cpSync(join(CACHE, 'kubernetes'), join(dir, packagesPath('debian12', 'kubernetes')), { recursive: true });
    for (const [name, version] of [['kubeadm', '1.34.3-1.1'], ['kubelet', '1.34.3-1.1'], ['kubectl', '1.34.3-1.1'], ['cri-tools', '1.34.0-1.1'], ['kubernetes-cni', '1.7.1-1.1']] as const) {
      standInDeb(join(dir, packagesPath('debian12', 'kubernetes')), name, version);
    }
    for (const f of readdirSync(tb.bundleDir).filter((f) => f.endsWith('.deb'))) {
      cpSync(join(tb.bundleDir, f), join(dir, packagesPath('debian12', 'load-balancer'), f));
    }
    // images: one FROM scratch image built here, saved once, each archive naming one required reference
    const ctx = join(work, 'image');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'hello.txt'), 'hello from the airgap-k8s bundle test\n');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    sh(['docker', 'build', '-q', '-t', localTag, ctx]);
    const saved = join(work, 'saved.tar');
    sh(['docker', 'save', '-o', saved, localTag]);
    const archive = readFileSync(saved);
    mkdirSync(join(dir, 'images'), { recursive: true });
    for (const r of bundleContents(view)) if (r.kind === 'image') writeFileSync(join(dir, r.path), retag(archive, r.image));
    cpSync(saved, join(dir, 'images/extra-hello.tar')); // docker save exactly as written, an image the spec does not need
    // Calico's manifest: the stand-in the transform tests use; the model: random bytes
    mkdirSync(join(dir, 'manifests'));
    cpSync(new URL('../../fixtures/upstream/calico-excerpt.yaml', import.meta.url), join(dir, 'manifests/calico-v3.27.0.yaml'));
    mkdirSync(join(dir, 'models'));
    const model = join(dir, MODEL);
    writeFileSync(model, '');
    for (let i = 0; i < MODEL_BYTES / (16 << 20); i++) writeFileSync(model, randomBytes(16 << 20), { flag: 'a' });
    const packed = await packBundle(dir);
    expect(packed.issues).toEqual([]);
    manifest = packed.manifest;
    report(`bundle made in ${Date.now() - t0} ms: ${packed.files} files, ${(packed.bytes / 1048576).toFixed(0)} MiB`);

    const inputs = { ...testInputs(), upstream: readUpstream(view, dir).upstream };
    files = renderView(view, inputs);
    plan = planFor(view, inputs);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([...executors.values()].map((e) => e.close().catch(() => undefined)));
    spawnSync('docker', ['rmi', localTag], { stdio: 'ignore' });
    if (work) rmSync(work, { recursive: true, force: true });
    if (tb) await tb.destroy();
  }, 180_000);

  it('the bundle verifies against the spec: real .debs (xz control) and docker save archives read from their content', async () => {
    const r = await verifyBundle(view, dir);
    expect(r.issues).toEqual([]);
    const deb = manifest.artifacts.find((a) => a.kind === 'os-package' && a.name === 'keepalived');
    expect(deb).toMatchObject({ version: '1:2.2.7-1+b2', arch: 'amd64', format: 'deb', group: 'load-balancer' });
    expect(manifest.artifacts.find((a) => a.kind === 'os-package' && a.name === 'containerd')).toMatchObject({ version: '1.6.20~ds1-1+deb12u3' });
    expect(manifest.artifacts.find((a) => a.path === imageArchivePath('docker.io/calico/node:v3.27.0'))).toMatchObject({ kind: 'image', images: ['docker.io/calico/node:v3.27.0'] });
    expect(manifest.artifacts.find((a) => a.path === 'images/extra-hello.tar')).toMatchObject({ kind: 'image', images: [`docker.io/${localTag}`] });
    // and a problem is found: the kubeadm stand-in at the wrong version
    const bad = join(work, 'bad');
    cpSync(dir, bad, { recursive: true });
    const k = join(bad, packagesPath('debian12', 'kubernetes'));
    rmSync(join(k, 'kubeadm_1.34.3-1.1_amd64.deb'));
    standInDeb(k, 'kubeadm', '1.34.2-1.1');
    const issues = (await verifyBundle(view, bad)).issues.map((i) => `${i.code} ${i.path}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        'missing packages/debian12/kubernetes/kubeadm_1.34.3-1.1_amd64.deb',
        'version packages/debian12/kubernetes/kubeadm_1.34.2-1.1_amd64.deb',
        'unlisted packages/debian12/kubernetes/kubeadm_1.34.2-1.1_amd64.deb',
      ]),
    );
    rmSync(bad, { recursive: true, force: true });
  });

  it('uploads to the 3 hosts in parallel; a killed connection mid-upload resumes from where the host got to', async () => {
    const events: RunEvent[] = [];
    const modelStep = 'distribute/b2/upload/models/tiny.gguf';
    let killedAt: number | undefined;
    let killing: Promise<unknown> | undefined;
    const t0 = Date.now();
    const r = await runPlan({
      plan: only((s) => s.phase === 'preflight' || s.phase === 'distribute'),
      files: new Map(),
      executor,
      clusterHost: 'b1',
      journal: new MemoryJournal(),
      concurrency: 3,
      bundle: localBundle(view, dir),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step-progress' && e.stepId === modelStep && killedAt === undefined && e.bytes > e.total * 0.25 && e.bytes < e.total * 0.8) {
          killedAt = e.bytes;
          report(`killing b2's ssh connection at ${(e.bytes / 1048576).toFixed(0)} MiB of ${(e.total / 1048576).toFixed(0)} MiB`);
          // every per-connection sshd process of root (the listener stays): the TCP connection dies
          killing = tb.exec('b2', ['pkill', '-KILL', '-f', '^sshd: root'], { allowFailure: true });
        }
      },
    });
    await killing;
    const ms = Date.now() - t0;
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(killedAt, 'the upload was interrupted').toBeDefined();
    const out = events.filter((e): e is Extract<RunEvent, { type: 'step-output' }> => e.type === 'step-output' && e.stepId === modelStep).map((e) => e.text).join('');
    expect(out).toMatch(/1 files, [\d.]+ MiB sent in [\d.]+s, 1 resumed/);
    const sentMiB = Number(/([\d.]+) MiB sent/.exec(out)![1]);
    expect(sentMiB, 'resumed, not restarted').toBeLessThan((2 * MODEL_BYTES) / 1048576 - (killedAt! / 1048576) * 0.5);
    // after the kill, progress never went back to the start
    const after = events.filter((e) => e.type === 'step-progress' && e.stepId === modelStep).map((e) => (e as { bytes: number }).bytes);
    const i = after.indexOf(killedAt!);
    expect(Math.min(...after.slice(i))).toBeGreaterThan(0);
    // the three hosts' uploads overlapped: each host's first upload started before any host's last one finished
    // (not the model alone: with the hash taken as the bytes arrive, one host's model may be done before another's starts)
    const upload = (h: string) => (e: RunEvent) => 'stepId' in e && e.stepId.startsWith(`distribute/${h}/upload/`);
    const started = (h: string) => events.findIndex((e) => e.type === 'step-started' && upload(h)(e));
    const finished = (h: string) => events.length - 1 - [...events].reverse().findIndex((e) => e.type === 'step-finished' && upload(h)(e));
    expect(Math.max(started('b1'), started('b2'), started('b3'))).toBeLessThan(Math.min(finished('b1'), finished('b2'), finished('b3')));
    const total = manifest.artifacts.reduce((n, a) => n + a.size, 0);
    report(`distributed to 3 hosts in ${ms} ms (~${((3 * total) / 1048576 / (ms / 1000)).toFixed(0)} MiB/s aggregate, one interruption); b2's model: ${out.trim()}`);
  });

  it('the hosts hold every file with its sha256; a second run uploads nothing (probe: same checksum)', async () => {
    for (const h of view.hosts) {
      const sums = (await tb.exec(h.name, ['sh', '-c', `cd ${BUNDLE_DIR} && find . -type f | sort | xargs sha256sum`])).stdout;
      expect(sums).not.toContain('.partial');
      expect(sums).toContain(`${manifest.artifacts.find((a) => a.path === MODEL)!.sha256}  ./${MODEL}`);
      for (const p of ['packages/debian12/containerd', 'packages/debian12/kubernetes', 'images', MODEL]) {
        expect(await bundlePathPresent(executor(h.name), manifest, p, `${BUNDLE_DIR}/${p}`), `${h.name} ${p}`).toBe(true);
      }
    }
    const events: RunEvent[] = [];
    const r = await runPlan({
      plan: only((s) => s.phase === 'distribute'),
      files: new Map(),
      executor,
      clusterHost: 'b1',
      journal: new MemoryJournal(),
      bundle: localBundle(view, dir),
      onEvent: (e) => events.push(e),
    });
    expect(r).toMatchObject({ ok: true, changed: 0 });
    expect(events.filter((e) => e.type === 'step-skipped' && e.reason === 'probe').length).toBe(only((s) => s.phase === 'distribute').phases[0]!.steps.length);
  });

  it('installs the packages from the bundle with dpkg, starts containerd, imports the images into k8s.io', async () => {
    const keep = (s: Step) =>
      s.kind === 'install-packages' || s.kind === 'import-images' || (s.kind === 'systemd' && s.unit === 'containerd' && s.action === 'enable-now');
    const sub = only(keep);
    expect(sub.phases.flatMap((p) => p.steps).filter((s) => s.kind === 'install-packages').length).toBe(3 + 3 + 2);
    const t0 = Date.now();
    const r = await runPlan({ plan: sub, files: new Map(), executor, clusterHost: 'b1', journal: new MemoryJournal(), concurrency: 3, bundle: localBundle(view, dir) });
    expect(r.failures).toEqual([]);
    report(`installed and imported on 3 hosts in ${Date.now() - t0} ms`);
    for (const h of view.hosts) {
      const q = (await tb.exec(h.name, ['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'kubeadm', 'containerd', 'conntrack', 'socat'])).stdout;
      expect(q).toContain('kubeadm 1.34.3-1.1');
      expect(q).toContain('containerd 1.6.20~ds1-1+deb12u3');
      const lb = await tb.exec(h.name, ['dpkg-query', '-W', '-f', '${Version}', 'keepalived'], { allowFailure: true });
      expect(lb.stdout === '1:2.2.7-1+b2', h.name).toBe(h.isLoadBalancer);
      expect((await tb.exec(h.name, ['systemctl', 'is-active', 'containerd'])).stdout.trim()).toBe('active');
      const images = (await tb.exec(h.name, ['ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
      for (const i of bundleContents(view)) if (i.kind === 'image') expect(images, h.name).toContain(i.image);
      expect(images).toContain(`docker.io/${localTag}`);
    }
    // again: every package step is skipped by its probe (installed versions), the import runs again harmlessly
    const events: RunEvent[] = [];
    const again = await runPlan({ plan: sub, files: new Map(), executor, clusterHost: 'b1', journal: new MemoryJournal(), bundle: localBundle(view, dir), onEvent: (e) => events.push(e) });
    expect(again.ok).toBe(true);
    const skipped = events.filter((e) => e.type === 'step-skipped' && e.reason === 'probe').map((e) => (e as { stepId: string }).stepId);
    expect(skipped.filter((id) => id.includes('/packages/')).length).toBe(8);
  });

  it('with a private registry: the first control plane pushes every image once, under the name the cluster pulls', async () => {
    // Debian's docker-registry (plain HTTP) on b3 stands in for the site's registry
    const b3 = tb.host('b3');
    await tb.exec(b3, ['mkdir', '-p', '/tmp/registry']);
    for (const f of readdirSync(join(CACHE, 'registry'))) await tb.copyTo(b3, join(CACHE, 'registry', f), `/tmp/registry/${f}`);
    await tb.exec(b3, ['sh', '-c', 'DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/registry/*.deb >/dev/null'], { timeoutMs: 120_000 });
    // Debian's default config asks for htpasswd auth; the test registry is open, plain HTTP
    await tb.writeFile(b3, '/etc/docker/registry/config.yml', 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/docker-registry\nhttp:\n  addr: :5000\n');
    await tb.exec(b3, ['systemctl', 'restart', 'docker-registry']);
    const registry = `${b3.address}:5000/k8s`;
    await tb.exec(b3, ['sh', '-c', `for i in $(seq 50); do curl -sf http://${b3.address}:5000/v2/ >/dev/null && exit 0; sleep 0.2; done; exit 1`]);
    const parsed = parseSpec(specText(tb, `{bundleDir: ${BUNDLE_DIR}, registry: "${registry}", registryInsecure: true}`));
    if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
    const rv = deriveView(parsed.spec);
    const rplan = planFor(rv, { ...testInputs(), upstream: readUpstream(rv, dir).upstream });
    const push = rplan.phases.flatMap((p) => p.steps).filter((s) => s.kind === 'push-images');
    expect(push.map((s) => s.host)).toEqual(['b1']);
    const t0 = Date.now();
    const r = await runPlan({ plan: { ...rplan, phases: [{ name: 'container-runtime', serial: false, steps: push }] }, files: new Map(), executor, clusterHost: 'b1', journal: new MemoryJournal() });
    expect(r.failures).toEqual([]);
    report(`pushed ${push[0]!.kind === 'push-images' ? push[0]!.images.length : 0} images to ${registry} in ${Date.now() - t0} ms`);
    const catalog = JSON.parse((await tb.exec('b2', ['curl', '-sf', `http://${b3.address}:5000/v2/_catalog?n=1000`])).stdout) as { repositories: string[] };
    expect(catalog.repositories).toEqual(expect.arrayContaining(['k8s/kube-apiserver', 'k8s/coredns', 'k8s/pause', 'k8s/etcd', 'k8s/calico/node', 'k8s/ollama/ollama']));
    expect(catalog.repositories).not.toContain('k8s/coredns/coredns'); // kubeadm looks for <registry>/coredns
    const tags = JSON.parse((await tb.exec('b2', ['curl', '-sf', `http://${b3.address}:5000/v2/k8s/coredns/tags/list`])).stdout) as { tags: string[] };
    expect(tags.tags).toEqual(['v1.12.1']);
    // another host pulls what the cluster will pull
    await tb.exec('b2', ['ctr', '-n', 'k8s.io', 'images', 'pull', '--plain-http', `${registry}/pause:3.10.1`], { timeoutMs: 120_000 });
    expect((await tb.exec('b2', ['ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])).stdout).toContain(`${registry}/pause:3.10.1`);
  });
});

