// An envtest-style Kubernetes v1.34.3 control plane for tests: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler as processes on 127.0.0.1 (free ports), with certificates and kubeconfigs made by the real
// `kubeadm init phase certs all` and `kubeadm init phase kubeconfig all` from a kubeadm config written here. The
// flags follow the static pod manifests kubeadm v1.34 writes, minus what needs a host (kubelet, CNI, cloud).
//
//   const cp = await startControlPlane({ bin: await toolchainBin() });
//   await cp.kubectl(['get', 'ns']);   // admin credentials
//   await cp.stop();                   // kills every process and removes the temp dir
//
// Everything listens on 127.0.0.1 only; nothing leaves the machine. Logs are in <dir>/logs/*.log, and their tails
// are in the error when a component exits or readiness is not reached within `readyTimeoutMs`.
// AIRGAP_K8S_KEEP_CONTROLPLANE=1 keeps the directory after stop() for a post-mortem.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { run, type RunResult } from './toolchain.js';
import { freePort } from '../support/ports.js';

export const CONTROL_PLANE_KUBERNETES_VERSION = 'v1.34.3';
export const SERVICE_SUBNET = '10.96.0.0/12';
export const CLUSTER_NAME = 'airgap-k8s-test';

export interface ControlPlaneOptions {
  /** directory with kubeadm, kubectl, etcd, kube-apiserver, kube-controller-manager, kube-scheduler */
  bin: string;
  /**
   * kube-controller-manager --controllers. Default: all but the node lifecycle controller, which would taint and
   * evict fake Nodes that have no kubelet heartbeating.
   */
  controllers?: string;
  /** Bound on the whole start-up (all four components ready). Default 180 s: the machine may be busy. */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags (--name=value). */
  apiServerArgs?: string[];
}

export interface ControlPlane {
  /** the temp directory: pki/, kubeconfig/, etcd/, logs/ */
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** admin kubeconfig (cluster-admin via kubeadm:cluster-admins) */
  kubeconfig: string;
  ports: { etcdClient: number; etcdPeer: number; apiServer: number; controllerManager: number; scheduler: number };
  /** kubectl v1.34.3 with the admin kubeconfig; never throws on a non-zero exit */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** GET a path on the apiserver with the admin credentials */
  get(path: string): Promise<{ status: number; body: string }>;
  /** Kills every process (TERM, then KILL after 5 s) and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface Credentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The CA and client certificate kubeadm embeds in a kubeconfig. */
function credentials(kubeconfig: string): Credentials {
  const kc = yaml.load(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: Record<string, string> }[];
    users: { user: Record<string, string> }[];
  };
  const b64 = (s: string | undefined, what: string) => {
    if (!s) throw new Error(`${kubeconfig}: no ${what}`);
    return Buffer.from(s, 'base64');
  };
  return {
    ca: b64(kc.clusters[0]?.cluster['certificate-authority-data'], 'certificate-authority-data'),
    cert: b64(kc.users[0]?.user['client-certificate-data'], 'client-certificate-data'),
    key: b64(kc.users[0]?.user['client-key-data'], 'client-key-data'),
  };
}

function httpsGet(port: number, path: string, creds: Credentials | undefined, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        ca,
        ...(creds ? { cert: creds.cert, key: creds.key } : {}),
        // kube-controller-manager and kube-scheduler serve self-signed certificates (no --tls-cert-file).
        rejectUnauthorized: !!creds,
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on :${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const bin = (name: string) => join(opts.bin, name);
  const dir = mkdtempSync(join(tmpdir(), 'airgap-k8s-cp-'));
  const pki = join(dir, 'pki');
  const kubeconfigDir = join(dir, 'kubeconfig');
  const logs = join(dir, 'logs');
  for (const d of [pki, kubeconfigDir, logs]) mkdirSync(d, { recursive: true });
  const [etcdClient, etcdPeer, apiServer, controllerManager, scheduler] = (await freePorts(5)) as [number, number, number, number, number];
  const procs: { name: string; child: ChildProcess; log: string }[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Reverse start order: the scheduler and controller-manager first, etcd last.
    for (const p of [...procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
      p.child.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
      live.delete(p.child);
    }
    if (process.env.AIRGAP_K8S_KEEP_CONTROLPLANE !== '1') rmSync(dir, { recursive: true, force: true });
  };

  const start = (name: string, args: string[]) => {
    const log = join(logs, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(bin(name), args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(child);
    procs.push({ name, child, log });
  };

  const exitedEarly = () => procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  const failure = (why: string) =>
    new Error(`control plane in ${dir}: ${why}\n${procs.map((p) => `--- ${p.name} (${p.log})\n${tail(p.log)}`).join('\n')}`);

  try {
    // kubeadm makes the certificates and kubeconfigs exactly as for a real control plane, from this config.
    const config = join(dir, 'kubeadm.yaml');
    writeFileSync(
      config,
      [
        'apiVersion: kubeadm.k8s.io/v1beta4',
        'kind: InitConfiguration',
        // No advertiseAddress: kubeadm refuses a loopback one ("unable to select an IP from lo network interface")
        // and picks the host's default-route address for the certificates' SANs; nothing listens there. Clients use
        // controlPlaneEndpoint (127.0.0.1, also a SAN of every certificate that matters here).
        `localAPIEndpoint: {bindPort: ${apiServer}}`,
        `nodeRegistration: {name: ${CLUSTER_NAME}, criSocket: unix:///run/containerd/containerd.sock}`,
        '---',
        'apiVersion: kubeadm.k8s.io/v1beta4',
        'kind: ClusterConfiguration',
        `clusterName: ${CLUSTER_NAME}`,
        `kubernetesVersion: ${CONTROL_PLANE_KUBERNETES_VERSION}`,
        `certificatesDir: ${pki}`,
        `controlPlaneEndpoint: 127.0.0.1:${apiServer}`,
        `networking: {serviceSubnet: ${SERVICE_SUBNET}, dnsDomain: cluster.local}`,
        'apiServer: {certSANs: [127.0.0.1, localhost]}',
        '',
      ].join('\n'),
    );
    for (const phase of [
      ['certs', 'all', '--config', config],
      ['kubeconfig', 'all', '--config', config, '--kubeconfig-dir', kubeconfigDir],
    ]) {
      const r = await run(bin('kubeadm'), ['init', 'phase', ...phase], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`${r.command} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    }
    const kc = (name: string) => join(kubeconfigDir, name);
    // kubeadm points controller-manager.conf and scheduler.conf at the local advertise address (the host's own
    // address here); every component and client of this control plane talks to 127.0.0.1 only.
    for (const f of ['admin.conf', 'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf']) {
      const text = readFileSync(kc(f), 'utf8');
      writeFileSync(kc(f), text.replace(/^(\s*server: ).*$/m, `$1https://127.0.0.1:${apiServer}`), { mode: 0o600 });
    }
    const p = (name: string) => join(pki, name);

    const admin = kc('admin.conf');
    const creds = credentials(admin);
    const etcdCreds = { ca: readFileSync(p('etcd/ca.crt')), cert: readFileSync(p('apiserver-etcd-client.crt')), key: readFileSync(p('apiserver-etcd-client.key')) };
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
    const waitFor = async (what: string, check: () => Promise<boolean>) => {
      for (;;) {
        const dead = exitedEarly();
        if (dead) throw failure(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}`);
        if (await check().catch(() => false)) return;
        if (Date.now() > deadline) throw failure(`${what} not reached within ${opts.readyTimeoutMs ?? 180_000} ms`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };

    start('etcd', [
      `--name=${CLUSTER_NAME}`,
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=https://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=https://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=https://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=https://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=${CLUSTER_NAME}=https://127.0.0.1:${etcdPeer}`,
      `--cert-file=${p('etcd/server.crt')}`,
      `--key-file=${p('etcd/server.key')}`,
      '--client-cert-auth=true',
      `--trusted-ca-file=${p('etcd/ca.crt')}`,
      `--peer-cert-file=${p('etcd/peer.crt')}`,
      `--peer-key-file=${p('etcd/peer.key')}`,
      '--peer-client-cert-auth=true',
      `--peer-trusted-ca-file=${p('etcd/ca.crt')}`,
      // A throwaway store: no fsync keeps a busy 2-core machine responsive.
      '--unsafe-no-fsync=true',
    ]);

    await waitFor('etcd /health', async () => (await httpsGet(etcdClient, '/health', etcdCreds, etcdCreds.ca)).status === 200);

    start('kube-apiserver', [
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${apiServer}`,
      '--allow-privileged=true',
      '--authorization-mode=Node,RBAC',
      `--client-ca-file=${p('ca.crt')}`,
      '--enable-admission-plugins=NodeRestriction',
      '--enable-bootstrap-token-auth=true',
      `--etcd-cafile=${p('etcd/ca.crt')}`,
      `--etcd-certfile=${p('apiserver-etcd-client.crt')}`,
      `--etcd-keyfile=${p('apiserver-etcd-client.key')}`,
      `--etcd-servers=https://127.0.0.1:${etcdClient}`,
      `--kubelet-client-certificate=${p('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${p('apiserver-kubelet-client.key')}`,
      '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
      `--proxy-client-cert-file=${p('front-proxy-client.crt')}`,
      `--proxy-client-key-file=${p('front-proxy-client.key')}`,
      '--requestheader-allowed-names=front-proxy-client',
      `--requestheader-client-ca-file=${p('front-proxy-ca.crt')}`,
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-username-headers=X-Remote-User',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${p('sa.pub')}`,
      `--service-account-signing-key-file=${p('sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      `--tls-cert-file=${p('apiserver.crt')}`,
      `--tls-private-key-file=${p('apiserver.key')}`,
      // The kubernetes Service cannot point at a loopback address (Endpoints validation refuses 127.0.0.0/8).
      '--endpoint-reconciler-type=none',
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      ...(opts.apiServerArgs ?? []),
    ]);

    await waitFor('kube-apiserver /readyz', async () => (await httpsGet(apiServer, '/readyz', creds, creds.ca)).status === 200);
    // What `kubeadm init` does after the apiserver is up, so that admin.conf (group kubeadm:cluster-admins) is
    // cluster-admin; super-admin.conf (system:masters) is used for this one call only, as kubeadm does.
    const crb = await run(bin('kubectl'), [
      '--kubeconfig', kc('super-admin.conf'), 'create', 'clusterrolebinding', 'kubeadm:cluster-admins',
      '--clusterrole=cluster-admin', '--group=kubeadm:cluster-admins',
    ]);
    if (crb.code !== 0) throw failure(`${crb.command} exited ${crb.code}: ${crb.stderr}`);

    start('kube-controller-manager', [
      `--kubeconfig=${kc('controller-manager.conf')}`,
      `--authentication-kubeconfig=${kc('controller-manager.conf')}`,
      `--authorization-kubeconfig=${kc('controller-manager.conf')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${controllerManager}`,
      `--client-ca-file=${p('ca.crt')}`,
      `--cluster-name=${CLUSTER_NAME}`,
      `--cluster-signing-cert-file=${p('ca.crt')}`,
      `--cluster-signing-key-file=${p('ca.key')}`,
      `--controllers=${opts.controllers ?? '*,bootstrap-signer-controller,token-cleaner-controller,-node-lifecycle-controller'}`,
      '--leader-elect=false',
      `--requestheader-client-ca-file=${p('front-proxy-ca.crt')}`,
      `--root-ca-file=${p('ca.crt')}`,
      `--service-account-private-key-file=${p('sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_SUBNET}`,
      '--use-service-account-credentials=true',
      `--cert-dir=${join(dir, 'kcm-certs')}`,
    ]);
    start('kube-scheduler', [
      `--kubeconfig=${kc('scheduler.conf')}`,
      `--authentication-kubeconfig=${kc('scheduler.conf')}`,
      `--authorization-kubeconfig=${kc('scheduler.conf')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${scheduler}`,
      '--leader-elect=false',
      `--cert-dir=${join(dir, 'scheduler-certs')}`,
    ]);
    // /healthz is always allowed (--authorization-always-allow-paths); their serving certs are self-signed.
    await waitFor('kube-controller-manager /healthz', async () => (await httpsGet(controllerManager, '/healthz', undefined, creds.ca)).status === 200);
    await waitFor('kube-scheduler /healthz', async () => (await httpsGet(scheduler, '/healthz', undefined, creds.ca)).status === 200);

    return {
      dir,
      server: `https://127.0.0.1:${apiServer}`,
      kubeconfig: admin,
      ports: { etcdClient, etcdPeer, apiServer, controllerManager, scheduler },
      kubectl: (args, o = {}) =>
        run(bin('kubectl'), ['--kubeconfig', admin, ...args], { input: o.input, timeoutMs: o.timeoutMs ?? 120_000 }),
      get: (path) => httpsGet(apiServer, path, creds, creds.ca),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** True when `dir` looks like a toolchain bin with everything the control plane needs. */
export function hasControlPlaneBinaries(dir: string): boolean {
  return ['kubeadm', 'kubectl', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].every((b) => existsSync(join(dir, b)));
}
