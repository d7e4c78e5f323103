// `airgap-k8s etcd snapshot|restore`, `certs check|renew`, `reset`: day-two operations as plans (src/day2), run
// like an install (src/install runPlanOn: live progress, secrets masked, destructive steps only with --yes). Each
// operation keeps its own journal while it runs (.airgap-k8s/<cluster>.<operation>.journal.json): a run killed
// mid-way resumes where it stopped; a run that finished removes it, so the next one starts afresh.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { localSha256 } from '../runner/actions.js';
import { dirname, resolve } from 'node:path';
import type { ClusterView } from '../spec/derive.js';
import type { Secrets } from '../secrets/types.js';
import type { Plan } from '../plan/types.js';
import { formatPlan } from '../plan/format.js';
import { FileJournal, MemoryJournal } from '../runner/journal.js';
import { executorsFor, prepareInstall, runPlanOn, UnconfirmedError, type ExecutorKind } from '../install/index.js';
import { etcdRestorePlan, etcdSnapshotPlan } from '../day2/etcd.js';
import { CERT_ONLY, CHECK_EXPIRATION, certsRenewPlan, formatExpiries, KUBELET_CLIENT_CERT, parseCheckExpiration, pemExpiry, type CertExpiry } from '../day2/certs.js';
import { resetPlan } from '../day2/reset.js';
import { upgradePlan, upgradeRefusals, UpgradeRefusedError } from '../day2/upgrade.js';
import type { BundleSource } from '../bundle/io/source.js';
import { bundleForApply } from './bundle.js';
import { bundleDirArg } from './apply-local.js';
import { journalFileArg, readApplied, stateFileArg, writeApplied } from './state.js';
import { progressPrinter } from './progress.js';
import type { Io } from './io.js';

export const DAY2_OPTIONS = {
  executor: { type: 'string' },
  secrets: { type: 'string' },
  journal: { type: 'string' },
  'known-hosts': { type: 'string' },
  verbose: { type: 'boolean' },
  yes: { type: 'boolean' },
  plan: { type: 'boolean' },
  json: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  input: { type: 'string', short: 'i' },
  purge: { type: 'boolean' },
  host: { type: 'string' },
  bundle: { type: 'string' },
  state: { type: 'string' },
} as const;

const COMMON = `  --executor E        ssh (default: the spec's hosts) or kind (node containers on this machine's docker)
  --plan              print the plan and stop (nothing runs)
  --verbose           show skipped steps and command output
  --known-hosts FILE  ssh host keys for hosts without a pinned fingerprint
  --secrets FILE      the cluster's secrets file (default airgap-k8s.secrets.yaml)
  --journal FILE      locates the operation's journal (default .airgap-k8s/<cluster>.journal.json: the
                      operation's is <cluster>.<operation>.journal.json beside it)`;

export const ETCD_USAGE = `Usage: airgap-k8s etcd snapshot [SPEC] -o FILE [--host CP] [options]
       airgap-k8s etcd restore [SPEC] -i FILE --yes [options]

snapshot: etcdctl snapshot save on a control plane's etcd member (default the first), checked there with etcdutl
  snapshot status, brought back to FILE (mode 0600: it holds every Secret of the cluster) with its sha256 checked,
  then removed from the host. Prints the sha256.
restore: the documented restore of a kubeadm HA cluster from FILE: the snapshot put on every control plane, every
  kube-apiserver and etcd stopped, each member's data made anew from it (the old data kept once as
  /var/lib/etcd.before-restore), etcd started and healthy, the API servers started and ready, controller-manager
  and scheduler restarted. Destructive: everything written after the snapshot is gone. Needs --yes.
${COMMON}
`;

export const CERTS_USAGE = `Usage: airgap-k8s certs check [SPEC] [--json] [options]
       airgap-k8s certs renew [SPEC] [options]

check: the expiry of every kubeadm certificate and CA on every control plane (kubeadm certs check-expiration) and
  of every node's kubelet client certificate (only the certificate is read off the host, never its key). Marks
  those expiring within 30 days.
renew: one control plane at a time: kubeadm certs renew all, then its static pods restarted in order (etcd,
  healthy again; kube-apiserver, ready again; controller-manager; scheduler). The cluster keeps serving through
  the other control planes.
${COMMON}
`;

export const UPGRADE_USAGE = `Usage: airgap-k8s upgrade [SPEC] [options]

SPEC is the cluster's spec with kubernetesVersion raised by a patch or one minor version (nothing else changed).
In kubeadm's documented order: the new packages and images from the bundle on every host; on the first control
plane kubeadm first, kubeadm upgrade plan and apply, drain, kubelet and kubectl, kubelet restarted, uncordon; the
other control planes the same with kubeadm upgrade node; then the workers one at a time. Refused before anything
runs (exit 2, every reason): a downgrade, a skipped minor version, another change in the same spec; on the hosts
(preflight): cgroup v1 going to 1.35 without failCgroupV1: false, a bundle without the new version. Killed or
failed mid-way, it resumes where it stopped when run again; run again after it finished, it says the cluster
already runs the version and exits 0.
  --bundle DIR        the unpacked offline bundle holding the NEW version (default: spec.offline.bundleDir)
  --state FILE        what the last apply applied (default <cluster>.applied.json beside the journal)
${COMMON}
`;

export const RESET_USAGE = `Usage: airgap-k8s reset [SPEC] --yes [--purge] [options]

Returns every host to where it was before the install, as far as kubeadm reset and airgap-k8s's own files allow:
workers first, then the control planes one at a time (the first last): kubeadm reset, kubelet (and keepalived,
haproxy) stopped and disabled, CNI config and every file the install wrote removed. Prints what stays (packages,
images, the bundle on the hosts) unless --purge removes those too. Destructive: needs --yes.
  --purge             also remove the packages the install put there, containerd's images and the host's bundle
${COMMON}
`;

interface Loaded {
  view: ClusterView;
  secrets: Secrets;
}

function executorArg(values: Record<string, unknown>, io: Io, cmd: string): ExecutorKind | undefined {
  const k = (values.executor as string | undefined) ?? 'ssh';
  if (k !== 'ssh' && k !== 'kind') {
    io.stderr(`${cmd}: --executor must be ssh or kind\n`);
    return undefined;
  }
  return k;
}

/** Runs an operation's plan with progress; its journal removed once it succeeded. Exit code. */
async function runOperation(name: string, plan: Plan, l: Loaded, values: Record<string, unknown>, io: Io, opts: { journal: boolean; bundle?: BundleSource }): Promise<number> {
  const kind = executorArg(values, io, name.split(' ')[0]!);
  if (!kind) return 2;
  if (values.plan) {
    io.stdout(formatPlan(plan));
    return 0;
  }
  const journalFile = resolve(dirname(journalFileArg(values, l.view.name, io)), `${l.view.name}.${name.replace(/ /g, '-')}.journal.json`);
  if (opts.journal) mkdirSync(dirname(journalFile), { recursive: true });
  if (opts.journal && existsSync(journalFile)) io.stdout(`resuming from ${journalFile}\n`);
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { summary } = await runPlanOn(
      { plan, view: l.view, secrets: l.secrets, executor: kind },
      {
        journal: opts.journal ? new FileJournal(journalFile) : new MemoryJournal(),
        concurrency: 10,
        signal: ac.signal,
        confirmed: !!values.yes,
        executors: { knownHostsFile: values['known-hosts'] as string | undefined },
        onEvent: progressPrinter((s) => io.stdout(s), { verbose: !!values.verbose }),
        ...(opts.bundle ? { bundle: opts.bundle } : {}),
      },
    );
    if (summary.ok && opts.journal) rmSync(journalFile, { force: true });
    return summary.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof UnconfirmedError) {
      io.stderr(`${name}: ${e.message}\nrun again with --yes to confirm\n`);
      return 2;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function etcdCommand(values: Record<string, unknown>, sub: string | undefined, l: Loaded, io: Io): Promise<number> {
  if (sub === 'snapshot') {
    const out = values.output as string | undefined;
    if (!out) {
      io.stderr('etcd snapshot: -o FILE is required (where the snapshot goes on this machine)\n');
      return 2;
    }
    const host = values.host === undefined ? l.view.firstControlPlane : l.view.controlPlanes.find((h) => h.name === values.host);
    if (!host) {
      io.stderr(`etcd snapshot: --host ${String(values.host)} is not a control plane of the spec (${l.view.controlPlanes.map((h) => h.name).join(', ')})\n`);
      return 2;
    }
    const to = resolve(io.cwd, out);
    const code = await runOperation('etcd snapshot', etcdSnapshotPlan(l.view, to, host), l, values, io, { journal: false });
    if (code === 0 && !values.plan) io.stdout(`snapshot ${to} sha256 ${await localSha256(to)}\n`);
    return code;
  }
  if (sub === 'restore') {
    const input = values.input as string | undefined;
    if (!input || !existsSync(resolve(io.cwd, input))) {
      io.stderr(`etcd restore: -i FILE must name a snapshot on this machine${input ? ` (${input} does not exist)` : ''}\n`);
      return 2;
    }
    const from = resolve(io.cwd, input);
    return runOperation('etcd restore', etcdRestorePlan(l.view, from, await localSha256(from)), l, values, io, { journal: true });
  }
  io.stderr(`etcd: unknown subcommand ${sub ?? '(none)'}\n${ETCD_USAGE}`);
  return 2;
}

export async function certsCommand(values: Record<string, unknown>, sub: string | undefined, l: Loaded, io: Io): Promise<number> {
  if (sub === 'renew') return runOperation('certs renew', certsRenewPlan(l.view), l, values, io, { journal: true });
  if (sub !== 'check') {
    io.stderr(`certs: unknown subcommand ${sub ?? '(none)'}\n${CERTS_USAGE}`);
    return 2;
  }
  const kind = executorArg(values, io, 'certs');
  if (!kind) return 2;
  const pool = executorsFor(kind, l.view, l.secrets, { knownHostsFile: values['known-hosts'] as string | undefined });
  const rows: CertExpiry[] = [];
  let failed = 0;
  try {
    for (const h of l.view.controlPlanes) {
      const r = await pool.get(h.name).run(CHECK_EXPIRATION, { allowFailure: true, timeoutMs: 60_000 });
      if (r.exitCode === 0) rows.push(...parseCheckExpiration(h.name, r.stdout));
      else {
        failed++;
        io.stderr(`${h.name}: kubeadm certs check-expiration failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}\n`);
      }
    }
    for (const h of l.view.hosts.filter((x) => x.isControlPlane || x.isWorker)) {
      const r = await pool.get(h.name).run([...CERT_ONLY, KUBELET_CLIENT_CERT], { allowFailure: true, timeoutMs: 30_000 });
      rows.push(r.exitCode === 0 ? pemExpiry(h.name, 'kubelet client', r.stdout) : { host: h.name, name: 'kubelet client', ca: false, notAfter: null, note: 'unreadable' });
    }
  } finally {
    await pool.closeAll();
  }
  io.stdout(values.json ? `${JSON.stringify(rows, null, 2)}\n` : formatExpiries(rows, new Date()));
  return failed ? 1 : 0;
}

export async function resetCommand(values: Record<string, unknown>, l: Loaded, io: Io): Promise<number> {
  const kind = executorArg(values, io, 'reset');
  if (!kind) return 2;
  // the install plan says which files the install wrote on each host and which packages it installed
  const install = prepareInstall({ view: l.view, secrets: l.secrets, executor: kind }).fullPlan;
  const r = resetPlan(l.view, install, { purge: !!values.purge });
  const code = await runOperation('reset', r.plan, l, values, io, { journal: true });
  if (code === 0 && !values.plan) io.stdout(`\nleft on the hosts:\n${r.leaves.map((x) => `  - ${x}`).join('\n')}\n`);
  return code;
}

export async function upgradeCommand(values: Record<string, unknown>, l: Loaded, io: Io): Promise<number> {
  const kind = executorArg(values, io, 'upgrade');
  if (!kind) return 2;
  const stateFile = stateFileArg(values, l.view.name, io);
  let before;
  try {
    before = readApplied(stateFile);
  } catch (e) {
    io.stderr(`upgrade: ${(e as Error).message}\n`);
    return 2;
  }
  if (!before) {
    io.stderr(`upgrade: no applied state at ${stateFile}: upgrade a cluster applied from here (--state FILE)\n`);
    return 2;
  }
  if (before.view.kubernetesVersion === l.view.kubernetesVersion && upgradeRefusals(before.view, l.view).length === 1) {
    // a second run of an upgrade that finished (its state was written at the end): nothing to do, said so
    io.stdout(`the cluster already runs ${l.view.kubernetesVersion} (${stateFile}): nothing to upgrade\n`);
    return 0;
  }
  const bundleDir = bundleDirArg(l.view, values, io);
  const after = prepareInstall({ view: l.view, secrets: l.secrets, executor: kind, bundleDir });
  let plan: Plan;
  try {
    plan = upgradePlan(before, { view: l.view, plan: after.fullPlan });
  } catch (e) {
    if (e instanceof UpgradeRefusedError) {
      io.stderr(`upgrade: ${e.message}\nnothing was started\n`);
      return 2;
    }
    throw e;
  }
  io.stdout(`upgrade ${before.view.kubernetesVersion} -> ${l.view.kubernetesVersion}\n`);
  let bundle: BundleSource | undefined;
  if (!values.plan) {
    // the bundle must hold the new version, checked before any host is touched (exit 2, nothing started)
    const b = await bundleForApply(after, io);
    if (!b.ok) return 2;
    bundle = b.bundle;
  }
  const code = await runOperation('upgrade', plan, l, values, io, { journal: true, ...(bundle ? { bundle } : {}) });
  if (code === 0 && !values.plan) writeApplied(stateFile, l.view, after.fullPlan);
  return code;
}
