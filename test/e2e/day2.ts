// Day two on the real HA cluster of test/e2e/cluster.test.ts (the same cluster: one set-up serves both), through
// the real CLI: scale out by editing the spec, remove the host again (refused without --yes), etcd snapshot and
// restore, certificates checked and renewed, and at the very end every host reset. Registered by cluster.test.ts
// after its own tests; `ctx()` hands over the cluster.
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect, it } from 'vitest';
import { secretValues } from '../../src/runner/redact.js';
import { type Testbed, waitFor } from '../testbed/testbed.js';
import { cli, type Install, performed, withWorker } from './cluster-support.js';
import { etcdctl } from '../../src/day2/etcdctl.js';
import { supplyBundle } from '../supply/supply.js';

export interface DayTwoContext {
  tb: Testbed;
  tmp: string;
  bundle: string;
  specFile: string;
  inst: Install;
  kc: k8s.KubeConfig;
}

const log = (line: string) => console.log(`[day2] ${line}`);
const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

export function dayTwoTests(ctx: () => DayTwoContext): void {
  const outputs: string[] = [];
  const common = () => {
    const c = ctx();
    return ['--executor', 'kind', '--secrets', join(c.tmp, 'secrets.yaml'), '--journal', join(c.tmp, 'journal.json')];
  };
  const run = async (args: string[]) => {
    const r = await cli(args);
    outputs.push(r.out);
    return r;
  };
  const readyNodes = async (): Promise<string[]> => {
    const core = ctx().kc.makeApiClient(k8s.CoreV1Api);
    const nodes = (await core.listNode()).items;
    return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata!.name!).sort();
  };

  it('day two, scale out: w2 added to the spec; `diff` shows it, apply runs only w2\'s steps and what names it; w2 Ready; the load balancers untouched', async () => {
    const c = ctx();
    const spec2 = join(c.tmp, 'rehearsal-w2.yaml');
    writeFileSync(spec2, withWorker(readFileSync(c.specFile, 'utf8'), c.tb, 'w2'));
    const diff = await run(['diff', spec2, ...common(), '--bundle', c.bundle]);
    expect(diff.code, diff.out).toBe(0);
    expect(diff.out).toMatch(/hosts added: {3}w2/);
    expect(diff.out).not.toMatch(/load-balancer\//);
    const t0 = Date.now();
    const apply = await run(['apply', spec2, ...common(), '--bundle', c.bundle]);
    expect(apply.code, apply.out.slice(-3000)).toBe(0);
    const ran = performed(apply.out);
    const unexpected = ran.filter((id) => {
      const [phase, host, what] = id.split('/');
      if (host === 'w2' || phase === 'verify' || phase === 'preflight') return false;
      if (phase === 'prepare-os' && (what === 'file' || what === 'run')) return false; // /etc/hosts names w2
      return !/^first-control-plane\/cp1\/(bootstrap-token|upload-certs)$/.test(id);
    });
    expect(unexpected).toEqual([]);
    expect(ran).toContain('workers/w2/kubeadm-join');
    expect(ran.filter((id) => id.startsWith('load-balancer/'))).toEqual([]);
    log(`w2 added in ${secs(t0)}: ${ran.length} steps ran (${ran.filter((id) => id.includes('/w2/')).length} on w2)`);
    const ready = await waitFor('w2 Ready', async () => ((await readyNodes()).includes('w2') ? await readyNodes() : undefined), { timeoutMs: 300_000, intervalMs: 2_000 });
    expect(ready).toEqual(['cp1', 'cp2', 'cp3', 'w1', 'w2']);
  }, 1_200_000);

  it('day two, remove: w2 gone from the spec is refused without --yes (exit 2, the destructive steps listed, nothing touched); with --yes drained (its pod moves), reset, deleted; the cluster stays healthy; a second apply changes nothing', async () => {
    const c = ctx();
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    // a workload that prefers w2: the drain must move it
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'mover' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'mover' } },
          template: {
            metadata: { labels: { app: 'mover' } },
            spec: {
              tolerations: [{ operator: 'Exists' }],
              affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['w2'] }] } }] } },
              containers: [{ name: 'c', image: 'docker.io/library/busybox:1.35.0', command: ['sleep', '3600'] }],
            },
          },
        },
      },
    });
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const podNode = async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=mover' })).items.find((p) => p.status?.phase === 'Running')?.spec?.nodeName;
    expect(await waitFor('mover running', podNode, { timeoutMs: 120_000, intervalMs: 1_000 })).toBe('w2');

    const refused = await run(['apply', c.specFile, ...common(), '--bundle', c.bundle]);
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/destructive steps; run again with --yes/);
    for (const id of ['remove-nodes/cluster/w2/drain', 'remove-nodes/w2/reset', 'remove-nodes/cluster/w2/delete-node']) expect(refused.out).toContain(id);
    expect(await readyNodes()).toContain('w2');

    const t0 = Date.now();
    const apply = await run(['apply', c.specFile, ...common(), '--bundle', c.bundle, '--yes']);
    expect(apply.code, apply.out.slice(-3000)).toBe(0);
    expect(performed(apply.out).filter((id) => id.startsWith('remove-nodes/'))).toEqual(['remove-nodes/cluster/w2/drain', 'remove-nodes/w2/reset', 'remove-nodes/cluster/w2/delete-node']);
    log(`w2 removed in ${secs(t0)}`);
    expect(await readyNodes()).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    const moved = await waitFor('mover running elsewhere', async () => {
      const n = await podNode();
      return n && n !== 'w2' ? n : undefined;
    }, { timeoutMs: 180_000, intervalMs: 2_000 });
    log(`the drained pod runs on ${moved} now`);
    // the host is clean: kubeadm reset ran, no kubelet, none of our kubeadm files, the CNI config gone but its
    // directory kept (containerd's watch on it must survive for a later join: the next test joins w2 again)
    const host = await c.tb.exec('w2', ['sh', '-c', 'test ! -e /etc/kubernetes/kubelet.conf && test ! -e /etc/kubernetes/airgap-k8s && ! systemctl is-active -q kubelet && test -d /etc/cni/net.d && [ -z "$(ls -A /etc/cni/net.d)" ] && echo clean'], { allowFailure: true });
    expect(host.stdout.trim()).toBe('clean');

    const again = await run(['apply', c.specFile, ...common(), '--bundle', c.bundle]);
    expect(again.code, again.out.slice(-2000)).toBe(0);
    expect(again.out).toMatch(/nothing to change/);
    expect(performed(again.out).filter((id) => !/^(preflight|verify)\//.test(id))).toEqual([]);
    await apps.deleteNamespacedDeployment({ name: 'mover', namespace: 'default' });
  }, 1_200_000);

  it('day two, a control plane: w2 added as one joins through the VIP, every load balancer\'s haproxy gets it as a backend, etcd has 4 members; removed again (quorum checked first) it leaves etcd and the backends', async () => {
    const c = ctx();
    const spec2 = join(c.tmp, 'rehearsal-cp-w2.yaml');
    writeFileSync(spec2, withWorker(readFileSync(c.specFile, 'utf8'), c.tb, 'w2', 'control-plane'));
    const w2 = c.tb.host('w2').address;
    const backends = async () => {
      const out: string[] = [];
      for (const lb of ['cp1', 'cp2', 'cp3']) {
        const cfg = await c.tb.exec(lb, ['cat', '/etc/haproxy/haproxy.cfg']);
        if (cfg.stdout.includes(`${w2}:`)) out.push(lb);
      }
      return out;
    };
    const members = async () => {
      const r = await c.tb.exec('cp1', etcdctl('member', 'list', '-w', 'simple'));
      return r.stdout.trim().split('\n').map((l) => l.split(', ')[2]!).sort();
    };
    const t0 = Date.now();
    const add = await run(['apply', spec2, ...common(), '--bundle', c.bundle]);
    expect(add.code, add.out.slice(-3000)).toBe(0);
    const ran = performed(add.out);
    expect(ran).toContain('control-planes/w2/kubeadm-join');
    expect(ran).toContain('first-control-plane/cp1/upload-certs');
    for (const lb of ['cp1', 'cp2', 'cp3']) expect(ran).toContain(`load-balancer/${lb}/service/haproxy/restart`);
    log(`control plane w2 added in ${secs(t0)}: ${ran.length} steps ran`);
    expect(await backends()).toEqual(['cp1', 'cp2', 'cp3']);
    expect(await members()).toEqual(['cp1', 'cp2', 'cp3', 'w2']);
    const ready = await waitFor('w2 Ready', async () => ((await readyNodes()).includes('w2') ? await readyNodes() : undefined), { timeoutMs: 300_000, intervalMs: 2_000 });
    expect(ready).toEqual(['cp1', 'cp2', 'cp3', 'w1', 'w2']);

    const t1 = Date.now();
    const remove = await run(['apply', c.specFile, ...common(), '--bundle', c.bundle, '--yes']);
    expect(remove.code, remove.out.slice(-3000)).toBe(0);
    // the member removal runs only when kubeadm reset on w2 left it (its probe: no such member)
    expect(performed(remove.out).filter((id) => id.startsWith('remove-nodes/') && !id.endsWith('/etcd-member'))).toEqual([
      'remove-nodes/cluster/w2/etcd-quorum', 'remove-nodes/cluster/w2/drain', 'remove-nodes/w2/reset', 'remove-nodes/cluster/w2/delete-node',
    ]);
    log(`control plane w2 removed in ${secs(t1)}`);
    expect(await members()).toEqual(['cp1', 'cp2', 'cp3']);
    expect(await backends()).toEqual([]);
    expect(await readyNodes()).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
  }, 1_200_000);

  it('day two, etcd: a snapshot comes back with its sha256 (0600); a namespace deleted after it is back after `etcd restore --yes` (refused without)', async () => {
    const c = ctx();
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'e2e-backup' } } });
    await core.createNamespacedConfigMap({ namespace: 'e2e-backup', body: { metadata: { name: 'precious' }, data: { v: 'before-the-snapshot' } } });
    const snap = join(c.tmp, 'etcd.db');
    const t0 = Date.now();
    const s = await run(['etcd', 'snapshot', c.specFile, '-o', snap, ...common()]);
    expect(s.code, s.out.slice(-3000)).toBe(0);
    const digest = createHash('sha256').update(readFileSync(snap)).digest('hex');
    expect(s.out).toContain(`sha256 ${digest}`);
    expect(statSync(snap).mode & 0o777).toBe(0o600);
    log(`snapshot ${statSync(snap).size} bytes in ${secs(t0)}`);

    await core.deleteNamespace({ name: 'e2e-backup' });
    await waitFor('namespace gone', async () => ((await core.readNamespace({ name: 'e2e-backup' }).then(() => false, () => true)) ? true : undefined), { timeoutMs: 120_000, intervalMs: 1_000 });

    const refused = await run(['etcd', 'restore', c.specFile, '-i', snap, ...common()]);
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/etcd-restore\/cp1\/data/);
    const t1 = Date.now();
    const r = await run(['etcd', 'restore', c.specFile, '-i', snap, ...common(), '--yes']);
    expect(r.code, r.out.slice(-3000)).toBe(0);
    log(`restore in ${secs(t1)}`);
    const cm = await waitFor('the configmap back', async () => core.readNamespacedConfigMap({ name: 'precious', namespace: 'e2e-backup' }).catch(() => undefined), { timeoutMs: 180_000, intervalMs: 2_000 });
    expect(cm.data).toEqual({ v: 'before-the-snapshot' });
    expect(await waitFor('4 nodes Ready', async () => ((await readyNodes().catch(() => [])).length === 4 ? true : undefined), { timeoutMs: 300_000, intervalMs: 3_000 })).toBe(true);
  }, 1_200_000);

  it('day two, certificates: `certs check` reports sane expiries on every node; `certs renew` (killed with SIGKILL mid-way, then resumed) moves them later, the API serves the new certificate, the cluster stays Ready', async () => {
    const c = ctx();
    const check = async () => {
      const r = await run(['certs', 'check', c.specFile, '--json', ...common()]);
      expect(r.code, r.out.slice(-2000)).toBe(0);
      return JSON.parse(r.out.slice(r.out.indexOf('['))) as { host: string; name: string; notAfter: string | null; ca: boolean }[];
    };
    const before = await check();
    const days = (iso: string | null) => (Date.parse(iso!) - Date.now()) / 86_400_000;
    const apiserver = (rows: typeof before, host: string) => rows.find((r) => r.host === host && r.name === 'apiserver')!;
    for (const h of ['cp1', 'cp2', 'cp3']) {
      expect(days(apiserver(before, h).notAfter)).toBeGreaterThan(360);
      expect(days(apiserver(before, h).notAfter)).toBeLessThan(366);
      expect(days(before.find((r) => r.host === h && r.ca && r.name === 'ca')!.notAfter)).toBeGreaterThan(3600);
    }
    expect(before.filter((r) => r.name === 'kubelet client').map((r) => r.host).sort()).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    for (const r of before.filter((x) => x.name === 'kubelet client')) expect(days(r.notAfter)).toBeGreaterThan(300);
    const served = () => servedNotAfter(c.inst.view.endpoint.host, c.inst.view.endpoint.port);
    const servedBefore = await served();
    await new Promise((r) => setTimeout(r, 2_000)); // a renewed certificate's notAfter is at least a second later
    const t0 = Date.now();
    // kill -9 once cp2's certificates are renewed (cp1 done, cp2's static pods not yet restarted) ...
    const killed = await cli(['certs', 'renew', c.specFile, ...common()], (line, child) => {
      if (/ (changed|ok {5}) certs-renew\/cp2\/renew \(/.test(line)) child.kill('SIGKILL');
    });
    outputs.push(killed.out);
    expect(killed.signal, killed.out.slice(-3000)).toBe('SIGKILL');
    const before2 = performed(killed.out);
    expect(before2).toContain('certs-renew/cp1/restart/controllers');
    // ... and run again: it resumes from its journal, nothing finished before the kill runs again
    const renew = await run(['certs', 'renew', c.specFile, ...common()]);
    expect(renew.code, renew.out.slice(-3000)).toBe(0);
    expect(renew.out).toMatch(/resuming from /);
    const after2 = performed(renew.out);
    expect(after2.filter((id) => before2.includes(id) && !/(etcd-healthy|apiserver-ready)$/.test(id))).toEqual([]);
    expect(after2).toContain('certs-renew/cp3/renew');
    log(`certs renewed on 3 control planes in ${secs(t0)} (killed with SIGKILL after cp2's renew, resumed: ${after2.length} steps after the kill)`);
    const after = await check();
    for (const h of ['cp1', 'cp2', 'cp3']) expect(Date.parse(apiserver(after, h).notAfter!)).toBeGreaterThan(Date.parse(apiserver(before, h).notAfter!));
    expect(Date.parse(await served())).toBeGreaterThan(Date.parse(servedBefore));
    expect(await readyNodes()).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
  }, 1_200_000);

  it('day two, upgrade v1.34.3 -> v1.34.4 of the whole HA cluster (the v1.34.4 bundle built from source too): a Service keeps answering throughout (longest gap measured), every node reports v1.34.4 after; refused without a bundle of the new version', async () => {
    const c = ctx();
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const policy = c.kc.makeApiClient(k8s.PolicyV1Api);
    // the earlier tests' bare pods (no controller) would stop the drains, as kubectl drain does without --force:
    // an upgrade never deletes what nothing would recreate
    await core.deleteNamespace({ name: 'e2e-net' });
    await core.deleteNamespacedPod({ name: 'api', namespace: 'prod' });
    const labels = { app: 'steady' };
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'steady' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              tolerations: [{ operator: 'Exists' }],
              affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' }] } },
              containers: [{
                name: 'web', image: 'docker.io/library/busybox:1.35.0',
                command: ['sh', '-c', 'mkdir -p /www && echo steady > /www/index.html && exec httpd -f -p 8080 -h /www'],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              }],
            },
          },
        },
      },
    });
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'steady' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } } });
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'steady' }, spec: { type: 'NodePort', selector: labels, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] } } });
    await waitFor('2 steady replicas ready', async () => ((await apps.readNamespacedDeployment({ name: 'steady', namespace: 'default' })).status?.readyReplicas === 2 ? true : undefined), { timeoutMs: 180_000, intervalMs: 1_000 });
    const url = `http://${c.tb.host('w1').address}:30080/`;
    await waitFor('the Service answers', async () => ((await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });

    const bundle2 = supplyBundle('v1.34.4');
    const spec2 = join(c.tmp, 'rehearsal-v1.34.4.yaml');
    writeFileSync(spec2, readFileSync(c.specFile, 'utf8').replace('kubernetesVersion: v1.34.3', 'kubernetesVersion: v1.34.4'));
    // the v1.34.3 bundle does not hold v1.34.4: refused before anything runs
    const wrong = await run(['upgrade', spec2, ...common(), '--bundle', c.bundle]);
    expect(wrong.code, wrong.out.slice(-2000)).toBe(2);

    // the Service polled every 250 ms through w1's NodePort while the whole cluster is upgraded
    let polling = true;
    let lastOk = Date.now();
    let longestGap = 0;
    let failures = 0;
    let answers = 0;
    const poller = (async () => {
      while (polling) {
        const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
        const now = Date.now();
        if (ok) {
          longestGap = Math.max(longestGap, now - lastOk);
          lastOk = now;
          answers++;
        } else failures++;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const t0 = Date.now();
    const up = await run(['upgrade', spec2, ...common(), '--bundle', bundle2]);
    polling = false;
    await poller;
    log(`upgrade v1.34.3 -> v1.34.4 in ${secs(t0)}; the Service answered ${answers} times, ${failures} failed requests, longest gap between answers ${longestGap} ms`);
    expect(up.code, up.out.slice(-4000)).toBe(0);
    const versions = (await core.listNode()).items.map((n) => `${n.metadata!.name}=${n.status!.nodeInfo!.kubeletVersion}`).sort();
    expect(versions).toEqual(['cp1=v1.34.4', 'cp2=v1.34.4', 'cp3=v1.34.4', 'w1=v1.34.4']);
    const api = await core.readNamespacedPod({ name: 'kube-apiserver-cp3', namespace: 'kube-system' });
    expect(api.spec!.containers[0]!.image).toBe('registry.k8s.io/kube-apiserver:v1.34.4');
    expect(await readyNodes()).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    // answered throughout: never more than a few seconds without an answer (a drained replica's endpoint leaving)
    expect(longestGap).toBeLessThan(10_000);
    // a second run changes nothing
    const again = await run(['upgrade', spec2, ...common(), '--bundle', bundle2]);
    expect(again.code, again.out.slice(-2000)).toBe(0);
    expect(again.out).toMatch(/already runs v1\.34\.4 .*nothing to upgrade/);
  }, 2_400_000);

  it('day two output (diff, apply, etcd, certs, upgrade) holds no secret', () => {
    const values = secretValues(ctx().inst.secrets).filter((v) => v.length >= 8);
    expect(outputs.length).toBeGreaterThanOrEqual(8);
    for (const v of values) for (const t of outputs) expect(t.includes(v)).toBe(false);
  });

  it('day two, reset (last: it takes the cluster down): refused without --yes; then every host is back: no kubelet, no kubeadm files, no Kubernetes container running, no VIP; what stays is listed; a second reset changes nothing', async () => {
    const c = ctx();
    const refused = await run(['reset', c.specFile, ...common()]);
    expect(refused.code).toBe(2);
    const t0 = Date.now();
    const r = await run(['reset', c.specFile, ...common(), '--yes']);
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toMatch(/left on the hosts:\n {2}- the packages the install put there/);
    log(`reset of 4 hosts in ${secs(t0)}`);
    for (const h of ['cp1', 'cp2', 'cp3', 'w1']) {
      const s = await c.tb.exec(h, ['sh', '-c', [
        'test ! -e /etc/kubernetes/kubelet.conf || echo kubelet.conf',
        'test ! -e /etc/kubernetes/admin.conf || echo admin.conf',
        'test ! -e /etc/kubernetes/airgap-k8s || echo airgap-k8s-dir',
        'test ! -e /etc/sysctl.d/99-airgap-k8s.conf || echo sysctl-file',
        'systemctl is-active -q kubelet && echo kubelet-active',
        'systemctl is-active -q keepalived && echo keepalived-active',
        'n=$(crictl ps -q 2>/dev/null | wc -l); [ "$n" = 0 ] || echo "$n containers"',
        `ip -o addr | grep -qF ' ${c.inst.view.endpoint.host}/' && echo vip`,
        'true',
      ].join('\n')], { allowFailure: true });
      expect(s.stdout.trim(), h).toBe('');
    }
    const again = await run(['reset', c.specFile, ...common(), '--yes']);
    expect(again.code, again.out.slice(-2000)).toBe(0);
    expect(again.out).not.toMatch(/ changed /);
  }, 1_200_000);
}

/** notAfter of the certificate the API server behind host:port serves, as an ISO time. */
function servedNotAfter(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, rejectUnauthorized: false, servername: 'kubernetes' }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(new Date(cert.valid_to).toISOString());
    });
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('TLS connect timed out')));
  });
}
