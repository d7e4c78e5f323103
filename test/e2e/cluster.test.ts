// A real cluster comes up: the rehearsal spec (3 control planes that are also the keepalived + haproxy load
// balancers, VIP:6553, 1 worker, Calico VXLAN, local-path storage, dev/test/prod) installed by the REAL plan through
// the kind executor onto four bare Debian 12 host containers (systemd, nothing of Kubernetes preinstalled) on an
// --internal docker network (no way out: an install that reaches for the internet fails), from the real offline
// bundle of scripts/supply/build.sh. Then asserted with @kubernetes/client-node through the VIP.
// `npm run test:e2e:cluster` (root; the supply and the test bed are prepared first). Timings printed as [cluster].
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_CLUSTER_LABEL, NODE_HOST_LABEL } from '../../src/executors/kind/kind.js';
import { FileJournal } from '../../src/runner/journal.js';
import { secretValues } from '../../src/runner/redact.js';
import { createTestbed, type Testbed, waitFor } from '../testbed/testbed.js';
import { supplyBundle } from '../supply/supply.js';
import { dayTwoTests } from './day2.js';
import { children, type Ev, follow, freePort, serve, until } from './api-support.js';
import { cli, clusterClient, install, type Install, performed, prepareInstall, rehearsalOn } from './cluster-support.js';


const log = (line: string) => console.log(`[cluster] ${line}`);
const API_TOKEN = 'cluster-e2e-api-token-0123456789';

describe('a real HA cluster from the offline bundle, through the kind executor', () => {
  let tb: Testbed;
  let tmp: string;
  let bundle: string;
  let inst: Install;
  let kc: k8s.KubeConfig;
  let specFile: string;
  const cliOutput: string[] = [];
  const apiTexts: string[] = [];

  beforeAll(async () => {
    bundle = supplyBundle();
    tmp = mkdtempSync(join(tmpdir(), 'airgap-k8s-cluster-'));
    tb = await createTestbed({
      name: 'cluster',
      hosts: ['cp1', 'cp2', 'cp3', 'w1', 'w2'],
      kubernetes: true,
      // what the kind executor of `airgap-k8s apply --executor kind` finds a host's container by
      hostLabels: (h) => ({ [NODE_HOST_LABEL]: h, [NODE_CLUSTER_LABEL]: 'rehearsal' }),
      log,
    });
    const vip = tb.network.spareAddresses[0]!;
    specFile = join(tmp, 'rehearsal.yaml');
    writeFileSync(specFile, rehearsalOn(tb, vip));
    inst = prepareInstall(tb, readFileSync(specFile, 'utf8'), join(tmp, 'secrets.yaml'), bundle);
    log(`hosts ${tb.hosts.map((h) => `${h.name}=${h.address}`).join(' ')}, VIP ${vip}:6553`);
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (process.env.AIRGAP_K8S_KEEP === '1') {
      log(`kept: test bed ${tb?.runId}, ${tmp}`);
      return;
    }
    await tb?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 300_000);

  it('installs with the real `airgap-k8s apply --executor kind`: killed -9 during the control-planes phase, the rerun completes without repeating a finished step', async () => {
    const args = ['apply', specFile, '--executor', 'kind', '--bundle', bundle, '--secrets', join(tmp, 'secrets.yaml'), '--journal', join(tmp, 'journal.json'), '--verbose'];
    const t0 = Date.now();
    // run 1: killed -9 as soon as the first step of the control-planes phase finished
    const first = await cli(args, (line, child) => {
      if (/^\[\s*\d+\/\d+\] \S+\s+(changed|ok     ) control-planes\//.test(line)) child.kill('SIGKILL');
    });
    cliOutput.push(first.out);
    expect(first.signal).toBe('SIGKILL');
    const finished = performed(first.out);
    expect(finished.some((id) => id.startsWith('control-planes/'))).toBe(true);
    expect(finished.some((id) => id.startsWith('workers/'))).toBe(false);
    log(`apply killed -9 after ${((Date.now() - t0) / 1000).toFixed(1)} s with ${finished.length} steps finished (the last: ${finished.at(-1)})`);
    // run 2: the same command completes; no step run 1 finished runs again (read-only checks are not journaled)
    const t1 = Date.now();
    const second = await cli(args);
    cliOutput.push(second.out);
    for (const l of second.out.split('\n')) if (/^== |FAILED|retry/.test(l)) log(`rerun: ${l}`);
    expect(second.code, second.out.slice(-4000)).toBe(0);
    const again = performed(second.out).filter((id) => finished.includes(id) && !/^(preflight|verify)\//.test(id));
    expect(again).toEqual([]);
    expect(second.out).toMatch(/skipped .* \(journal\)/);
    log(`rerun completed the install in ${((Date.now() - t1) / 1000).toFixed(1)} s; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 1_800_000);

  it('all 4 nodes Ready, through the VIP', async () => {
    kc = await clusterClient(inst);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ready = await waitFor('4 nodes Ready', async () => {
      const nodes = (await core.listNode()).items;
      const r = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return r.length === 4 ? r.map((n) => n.metadata!.name!).sort() : undefined;
    }, { timeoutMs: 300_000, intervalMs: 2_000 });
    expect(ready).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
  }, 400_000);

  it('every kube-system pod Running and Ready: etcd x3, apiserver x3, controller-manager, scheduler, kube-proxy, calico-node x4, calico-kube-controllers, coredns', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const pods = await waitFor('kube-system Ready', async () => {
      const items = (await core.listNamespacedPod({ namespace: 'kube-system' })).items;
      const notReady = items.filter((p) => !(p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
      return items.length > 0 && notReady.length === 0 ? items : undefined;
    }, { timeoutMs: 600_000, intervalMs: 3_000 }).catch(async (e) => {
      const items = (await core.listNamespacedPod({ namespace: 'kube-system' })).items;
      throw new Error(`${(e as Error).message}: ${items.map((p) => `${p.metadata?.name}=${p.status?.phase}`).join(' ')}`);
    });
    const count = (prefix: string) => pods.filter((p) => p.metadata!.name!.startsWith(prefix)).length;
    expect(count('etcd-')).toBe(3);
    expect(count('kube-apiserver-')).toBe(3);
    expect(count('kube-controller-manager-')).toBe(3);
    expect(count('kube-scheduler-')).toBe(3);
    expect(count('kube-proxy-')).toBe(4);
    expect(count('calico-node-')).toBe(4);
    expect(count('calico-kube-controllers-')).toBe(1);
    expect(count('coredns-')).toBe(2);
    // the images are the bundle's (nothing could be pulled: the network has no way out)
    const images = new Set(pods.flatMap((p) => p.spec!.containers.map((c) => c.image!)));
    for (const i of images) expect(i).toMatch(/^(registry\.k8s\.io\/(kube-(apiserver|controller-manager|scheduler|proxy):v1\.34\.3|etcd:3\.6\.5-0|coredns\/coredns:v1\.12\.1)|docker\.io\/calico\/(node|kube-controllers):v3\.27\.0)$/);
  }, 700_000);

  it('kubeadm-config and the static pods carry what the spec says (endpoint VIP:6553, subnets, images)', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: 'kubeadm-config', namespace: 'kube-system' });
    const cc = cm.data!.ClusterConfiguration!;
    expect(cc).toContain(`controlPlaneEndpoint: ${inst.view.endpoint.host}:6553`);
    expect(cc).toContain('podSubnet: 10.244.0.0/16');
    expect(cc).toContain('serviceSubnet: 10.96.0.0/12');
    const api = await core.readNamespacedPod({ name: 'kube-apiserver-cp2', namespace: 'kube-system' });
    expect(api.spec!.containers[0]!.image).toBe('registry.k8s.io/kube-apiserver:v1.34.3');
    expect(api.spec!.containers[0]!.command).toContain('--service-cluster-ip-range=10.96.0.0/12');
  });

  it('networking: a pod on the worker resolves kubernetes.default through CoreDNS and reaches a pod on a control plane across nodes (VXLAN)', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'e2e-net' } } });
    await core.createNamespacedPod({ namespace: 'e2e-net', body: serverPod('web', 'cp1') });
    const ip = await podIp(core, 'e2e-net', 'web');
    const dns = await runPod(core, 'e2e-net', clientPod('dns', 'w1', 'nslookup kubernetes.default.svc.cluster.local'));
    expect(dns.phase, dns.logs).toBe('Succeeded');
    expect(dns.logs).toContain('10.96.0.1');
    const web = await runPod(core, 'e2e-net', clientPod('fetch', 'w1', httpGet(ip)));
    expect(web.phase, web.logs).toBe('Succeeded');
    expect(web.logs).toContain('airgap-ok');
  }, 300_000);

  it('storage: a PVC in prod binds through local-path and a pod writes to it', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPersistentVolumeClaim({ namespace: 'prod', body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } } });
    const pod = clientPod('writer', 'w1', 'echo persisted > /data/f && cat /data/f');
    pod.spec!.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }];
    pod.spec!.containers[0]!.volumeMounts = [{ name: 'data', mountPath: '/data' }];
    const r = await runPod(core, 'prod', pod);
    expect(r.phase, r.logs).toBe('Succeeded');
    expect(r.logs).toContain('persisted');
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'prod' });
    expect(pvc.status!.phase).toBe('Bound');
    expect(pvc.spec!.storageClassName).toBe('local-path');
  }, 300_000);

  it('environments: a pod over the namespace quota is refused', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const pod = clientPod('greedy', 'w1', 'true');
    pod.spec!.containers[0]!.resources = { requests: { cpu: '5' } };
    const err = await core.createNamespacedPod({ namespace: 'dev', body: pod }).then(() => undefined, (e: unknown) => e as { code?: number; body?: string });
    expect(err?.code).toBe(403);
    expect(String(err?.body)).toMatch(/exceeded quota/);
  });

  it('environments: default-deny blocks dev -> prod; an explicit allow rule (egress in dev, ingress in prod) permits it (Calico enforces both)', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    await core.createNamespacedPod({ namespace: 'prod', body: serverPod('api', 'w1') });
    const ip = await podIp(core, 'prod', 'api');
    const denied = await runPod(core, 'dev', clientPod('probe1', 'w1', httpGet(ip)));
    expect(denied.phase, denied.logs).toBe('Failed');
    await net.createNamespacedNetworkPolicy({ namespace: 'dev', body: { metadata: { name: 'e2e-to-prod' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prod' } } }] }] } } });
    await net.createNamespacedNetworkPolicy({ namespace: 'prod', body: { metadata: { name: 'e2e-from-dev' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ _from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } }] }] } } });
    const allowed = await waitFor('allowed after the policies', async () => {
      const r = await runPod(core, 'dev', clientPod(`probe-${Date.now() % 100000}`, 'w1', httpGet(ip)));
      return r.phase === 'Succeeded' ? r : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000 });
    expect(allowed.logs).toContain('airgap-ok');
  }, 300_000);

  it('a second apply changes nothing: with the same journal (CLI runner), and through the real REST service (`POST /clusters?executor=kind`, its own fresh journal: every step probed on the hosts)', async () => {
    const same = await install(inst, bundle, new FileJournal(join(tmp, 'journal.json')), () => undefined);
    expect(same.ok).toBe(true);
    expect(same.changed).toBe(0);

    // the service, as an operator runs it: its own data dir, the cluster's secrets file in its secrets dir
    const secretsDir = join(tmp, 'api-secrets');
    mkdirSync(secretsDir, { mode: 0o700 });
    copyFileSync(join(tmp, 'secrets.yaml'), join(secretsDir, `${inst.view.cluster.metadata.name}.secrets.yaml`));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = serve({
      AIRGAP_K8S_LISTEN: `127.0.0.1:${port}`, AIRGAP_K8S_DATA_DIR: join(tmp, 'api-data'), AIRGAP_K8S_SECRETS_DIR: secretsDir,
      AIRGAP_K8S_TOKEN: API_TOKEN, AIRGAP_K8S_EXECUTOR: 'kind', AIRGAP_K8S_BUNDLE_DIR: bundle,
    });
    try {
      await until(() => server.stderr().includes('"msg":"listening"'), 30_000, 'the server to listen', server);
      const t0 = Date.now();
      const post = await fetch(`${url}/clusters?executor=kind`, {
        method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/yaml' }, body: readFileSync(specFile, 'utf8'), signal: AbortSignal.timeout(60_000),
      });
      expect(post.status, await post.clone().text()).toBe(202);
      const { id, executor } = (await post.json()) as { id: string; executor: string };
      expect(executor).toBe('kind');
      const events: Ev[] = [];
      const final = await follow({ url, token: API_TOKEN, id, ms: 600_000, onEvent: (e) => events.push(e) });
      const finished = events.filter((e) => e.type === 'step-finished');
      const skipped = events.filter((e) => e.type === 'step-skipped');
      const changed = finished.filter((e) => e.changed).map((e) => e.stepId);
      log(`second apply through POST /clusters?executor=kind (fresh journal): ${skipped.length} skipped (probed: already so), ${finished.length} run (read-only checks), ${changed.length} changed, ${final?.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const job = await fetch(`${url}/clusters/${id}`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
      apiTexts.push(JSON.stringify(events), server.stderr(), await job.text());
      expect(final?.status, server.stderr().slice(-3000)).toBe('succeeded');
      // every step of the plan was reached: skipped by its probe on the host, or run as a read-only check
      expect(new Set([...finished, ...skipped].map((e) => e.stepId)).size).toBe(inst.plan.phases.reduce((n, p) => n + p.steps.length, 0));
      // skipped because the host already is so (probe), or a restart handler with nothing changed to react to
      expect(skipped.filter((e) => e.reason !== 'probe' && e.reason !== 'no-change')).toEqual([]);
      expect(changed).toEqual([]);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 900_000);

  it('the journal and the output of the install (CLI, and the REST service\'s events, log and job) hold no secret', async () => {
    const values = secretValues(inst.secrets).filter((v) => v.length >= 8);
    expect(values.length).toBeGreaterThanOrEqual(3);
    const texts = [readFileSync(join(tmp, 'journal.json'), 'utf8'), ...cliOutput, ...apiTexts];
    expect(apiTexts.length).toBeGreaterThanOrEqual(3);
    for (const v of values) for (const t of texts) expect(t.includes(v)).toBe(false);
  });

  it('HA: the API server stopped on one node leaves haproxy rotation; every request through the VIP still succeeds', async () => {
    const victim = 'cp2';
    const t0 = Date.now();
    const since = `@${Math.floor(t0 / 1000) - 1}`;
    await tb.exec(victim, ['mv', '/etc/kubernetes/manifests/kube-apiserver.yaml', '/etc/kubernetes/kube-apiserver.yaml.stopped']);
    try {
      const lbs = ['cp1', 'cp3'];
      // every load balancer, not the first: the VIP holder's haproxy is the one the requests below go through, and
      // the two health checks see cp2 go at different moments (a request in between reached cp2 and failed once)
      const down = new Map<string, number>();
      await waitFor('haproxy on every load balancer marks cp2 DOWN', async () => {
        for (const h of lbs.filter((x) => !down.has(x))) {
          const j = await tb.exec(h, ['journalctl', '--no-pager', '-q', '-t', 'haproxy', '--since', since], { allowFailure: true });
          if (/apiserver\/cp2 is DOWN/.test(j.stdout)) down.set(h, Date.now() - t0);
        }
        return down.size === lbs.length ? true : undefined;
      }, { timeoutMs: 90_000, intervalMs: 1_000 });
      log(`cp2's apiserver stopped: haproxy marked it DOWN after ${[...down].map(([h, ms]) => `${ms} ms on ${h}`).join(', ')}`);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      let failures = 0;
      for (let i = 0; i < 30; i++) if (!(await withTimeout(core.listNamespace(), 5_000).catch(() => undefined))) failures++;
      expect(failures).toBe(0);
    } finally {
      await tb.exec(victim, ['mv', '/etc/kubernetes/kube-apiserver.yaml.stopped', '/etc/kubernetes/manifests/kube-apiserver.yaml']);
    }
  }, 300_000);
  it('HA: docker stop of the VIP holder moves the VIP; the API answers through it again, etcd keeps quorum; the node rejoins', async () => {
    const vip = inst.view.endpoint.host;
    const holder = await vipHolder(tb, vip);
    expect(holder).toBeDefined();
    const t0 = Date.now();
    await tb.stop(holder!);
    const newHolder = await waitFor('VIP on another node', async () => {
      const h = await vipHolder(tb, vip, holder);
      return h && h !== holder ? h : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const vipMovedMs = Date.now() - t0;
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await waitFor('API through the VIP', async () => ((await withTimeout(core.listNode(), 3_000).catch(() => undefined)) ? true : undefined), { timeoutMs: 120_000, intervalMs: 250 });
    const apiMs = Date.now() - t0;
    // a write needs etcd quorum: 2 of 3 members remain. Until haproxy marks the stopped node DOWN (3 checks 2 s
    // apart) a new connection may be sent to it and closed (shutdown-sessions), as a client sees in a failover: a
    // connection that ends without an HTTP answer is tried again, as kubectl does; any HTTP error (etcd without
    // quorum answers 5xx) fails at once.
    let attempts = 0;
    const write = await waitFor('a write through the VIP', async () => {
      attempts++;
      try {
        await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `quorum-${Date.now()}` }, data: { ok: 'yes' } } });
        return { ok: true as const };
      } catch (e) {
        if (e instanceof k8s.ApiException) return { ok: false as const, code: e.code, body: String(e.body).slice(0, 300) };
        return undefined; // no HTTP answer: connect again
      }
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(write).toEqual({ ok: true });
    log(`VIP holder ${holder} stopped: VIP on ${newHolder} after ${vipMovedMs} ms; API through the VIP answered after ${apiMs} ms; a write succeeded (${attempts} connection${attempts === 1 ? '' : 's'})`);
    expect(apiMs).toBeLessThan(120_000);
    await tb.start(holder!);
    const started = Date.now();
    // back: its kubelet renews its node lease again (a restart shorter than the 40 s grace never shows NotReady)
    const leases = kc.makeApiClient(k8s.CoordinationV1Api);
    await waitFor(`${holder} heartbeating and Ready again`, async () => {
      const l = await withTimeout(leases.readNamespacedLease({ name: holder!, namespace: 'kube-node-lease' }), 3_000).catch(() => undefined);
      const n = await withTimeout(core.readNode({ name: holder! }), 3_000).catch(() => undefined);
      const renewed = l?.spec?.renewTime ? new Date(l.spec.renewTime as unknown as string).getTime() > started : false;
      return renewed && n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, { timeoutMs: 900_000, intervalMs: 2_000 });
    log(`${holder} Ready again ${Date.now() - t0} ms after the stop`);
  }, 1_200_000);

  // day two on this same cluster (test/e2e/day2.ts); reset last
  dayTwoTests(() => ({ tb, tmp, bundle, specFile, inst, kc }));

});

const TOLERATE_ALL = [{ operator: 'Exists' }];

/** An HTTP GET with busybox nc (Debian's static busybox wget segfaults in glibc's static NSS lookup): fails unless answered. */
function httpGet(ip: string): string {
  return `out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${ip} 8080) && echo "$out" && echo "$out" | grep -q airgap-ok`;
}

function serverPod(name: string, node: string): k8s.V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: TOLERATE_ALL,
      containers: [{ name, image: 'docker.io/library/busybox:1.35.0', command: ['sh', '-c', 'mkdir -p /www && echo airgap-ok > /www/index.html && exec httpd -f -p 8080 -h /www'] }],
    },
  };
}

function clientPod(name: string, node: string, script: string): k8s.V1Pod {
  return {
    metadata: { name },
    spec: {
      // nodeSelector, not nodeName: the scheduler must pick the node for a WaitForFirstConsumer claim to bind
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: TOLERATE_ALL,
      restartPolicy: 'Never',
      containers: [{ name, image: 'docker.io/library/busybox:1.35.0', command: ['sh', '-c', script] }],
    },
  };
}

async function podIp(core: k8s.CoreV1Api, namespace: string, name: string): Promise<string> {
  return waitFor(`${namespace}/${name} running`, async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return p.status?.phase === 'Running' && p.status.podIP ? p.status.podIP : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1_000 });
}

/** Create a run-to-completion pod, wait for it to end, return its phase and logs. */
async function runPod(core: k8s.CoreV1Api, namespace: string, pod: k8s.V1Pod): Promise<{ phase: string; logs: string }> {
  await core.createNamespacedPod({ namespace, body: pod });
  const name = pod.metadata!.name!;
  const phase = await waitFor(`${namespace}/${name} finished`, async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1_000 });
  const logs = await core.readNamespacedPodLog({ name, namespace }).catch((e: unknown) => `(no logs: ${String(e)})`);
  return { phase, logs: String(logs) };
}

async function vipHolder(tb: Testbed, vip: string, skip?: string): Promise<string | undefined> {
  for (const h of ['cp1', 'cp2', 'cp3']) {
    if (h === skip) continue;
    const r = await tb.exec(h, ['ip', '-o', '-4', 'addr', 'show'], { allowFailure: true, timeoutMs: 5_000 });
    if (r.exitCode === 0 && r.stdout.includes(` ${vip}/`)) return h;
  }
  return undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, j) => setTimeout(() => j(new Error(`timed out after ${ms} ms`)), ms))]);
}

