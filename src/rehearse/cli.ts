// `airgap-k8s rehearse SPEC --bundle DIR`: the dress rehearsal. The spec is checked and the bundle verified before
// anything is made (exit 2, nothing created); then one node container per host (./nodes.ts) and the SAME install
// path as `apply --executor kind` (src/install through applyLocal, which renders with the container-node overlay),
// a report, and removal unless --keep. The command's dependencies on src/cli/commands.ts come in as arguments (as
// `bundle` gets them), so there is no import cycle.
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Io } from '../cli/io.js';
import { applyLocal } from '../cli/apply-local.js';
import { bundleForApply } from '../cli/bundle.js';
import type { Secrets } from '../secrets/types.js';
import { executorsFor, prepareInstall } from '../install/index.js';
import { formatIssues, type SpecIssue } from '../spec/issues.js';
import { parseSpec } from '../spec/load.js';
import type { ClusterSpec } from '../spec/schema.js';
import { deriveView, type ClusterView } from '../spec/derive.js';
import { criticalPath } from '../runner/critical-path.js';
import { FileJournal, MemoryJournal } from '../runner/journal.js';
import type { RunEvent, RunSummary } from '../runner/runner.js';
import type { Plan } from '../plan/types.js';
import { tail } from '../executors/executor.js';
import { asDebianNodes, checkCidr, RemapError, remapSpec } from './remap.js';
import { osProfile } from '../os/profiles.js';
import { createNodes, DEFAULT_NODE_IMAGE, NodesInputError, sweepRehearsals, type RehearsalNodes } from './nodes.js';

const EXIT_OK = 0;
const EXIT_FAIL = 1;
const EXIT_INPUT = 2;

type Loaded =
  | { ok: true; source: string; spec: ClusterSpec; warnings: SpecIssue[] }
  | { ok: false; source: string; issues: SpecIssue[]; warnings: SpecIssue[] };

export interface RehearseDeps {
  loadSpec(arg: string | undefined, io: Io): Loaded;
  printWarnings(warnings: SpecIssue[], io: Io): void;
  secretsFor(spec: ClusterSpec, values: Record<string, unknown>, io: Io): Secrets | undefined;
}

export const REHEARSE_USAGE = (secretsHelp: string) => `Usage: airgap-k8s rehearse SPEC --bundle DIR [--subnet CIDR] [--keep] [--image IMG] [options]
       airgap-k8s rehearse --remove RUNID

The dress rehearsal: the whole offline install of SPEC on this machine. Each host becomes a privileged systemd
container of a bare Debian 12 image, with the spec's address and interface name, on a docker network of its own
that has no route out (an install that reaches for the internet fails); then the same install as
\`apply --executor kind\` runs (files rendered with the container-node overlay). At the end: a report (time per
phase, the steps that failed with their errors, the nodes, \`kubectl get nodes -o wide\`), and everything is
removed unless --keep. The spec and the bundle are checked first: problems exit 2 with nothing created.
Exit 0 only when the install succeeded. Ctrl-C cancels the install, then removes the nodes (unless --keep).
rhel8 and rhel9 hosts are rehearsed as debian12 (a warning says what that leaves unchecked). Needs root (iptables), dockerd
and the node image (\`npm run testbed:setup\` builds it); nothing is pulled.
  --bundle DIR        the unpacked offline bundle (required); verified against the spec before anything is made
  --subnet CIDR       move the spec into CIDR first: every host address, the VIP and hostSubnet keep their offset
                      (when the spec's subnet is in use here, or beside another rehearsal); the mapping is printed
  --keep              leave the nodes running: admin.conf is copied to ./<cluster>.admin.conf (mode 0600) and the
                      VIP printed; \`airgap-k8s rehearse --remove RUNID\` removes them later
  --image IMG         the node image (default ${DEFAULT_NODE_IMAGE}); never pulled
  --journal FILE      step journal (default: kept in memory: the nodes are new every time); must not exist yet
  --concurrency N     hosts at once within a phase (default 10)
  --verbose           show skipped steps and command output
  --remove RUNID      remove a kept rehearsal: its containers (with their volumes), network and firewall rule
${secretsHelp}`;

export const REHEARSE_OPTIONS = {
  bundle: { type: 'string' },
  subnet: { type: 'string' },
  keep: { type: 'boolean' },
  image: { type: 'string' },
  secrets: { type: 'string' },
  journal: { type: 'string' },
  concurrency: { type: 'string' },
  verbose: { type: 'boolean' },
  remove: { type: 'string' },
} as const;

/** 4.2s, 3m07s (rounded to whole seconds first: 239.6 s is 4m00s, not 3m60s) */
export const secs = (ms: number) => {
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

export async function rehearseCommand(values: Record<string, unknown>, positionals: string[], io: Io, deps: RehearseDeps): Promise<number> {
  const err = (s: string) => io.stderr(`rehearse: ${s}\n`);
  if (values.remove !== undefined) {
    const runId = values.remove as string;
    if (!/^[a-z0-9]{4,40}$/.test(runId) || positionals.length > 0) {
      err('--remove takes one RUNID (printed by `rehearse --keep`) and nothing else');
      return EXIT_INPUT;
    }
    const r = await sweepRehearsals({ runId });
    if (r.containers.length + r.networks.length + r.rules.length === 0) {
      err(`nothing of rehearsal ${runId} on this machine's docker`);
      return EXIT_INPUT;
    }
    io.stdout(`removed rehearsal ${runId}: ${[...r.containers, ...r.networks].join(', ')}${r.rules.length ? `; DOCKER-USER rule ${r.rules.join(', ')}` : ''}\n`);
    return EXIT_OK;
  }

  // ---- arguments
  const specArg = positionals[0];
  if (!specArg || positionals.length > 1) {
    err('give exactly one SPEC (a YAML or JSON file; the embedded example is not rehearsable: RHEL 8 GPU hosts)');
    return EXIT_INPUT;
  }
  const bundleArg = values.bundle as string | undefined;
  if (!bundleArg) {
    err('--bundle DIR is required: the unpacked offline bundle the nodes install from');
    return EXIT_INPUT;
  }
  const subnet = values.subnet as string | undefined;
  if (subnet !== undefined) {
    try {
      checkCidr(subnet, '--subnet');
    } catch (e) {
      err((e as Error).message);
      return EXIT_INPUT;
    }
  }
  const concurrency = values.concurrency === undefined ? 10 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 200) {
    err('--concurrency must be an integer 1-200');
    return EXIT_INPUT;
  }
  const image = (values.image as string | undefined) ?? DEFAULT_NODE_IMAGE;
  if (!/^[a-z0-9][a-z0-9._/:@-]*$/i.test(image)) {
    err(`--image ${JSON.stringify(image)} is not an image reference`);
    return EXIT_INPUT;
  }
  const journalFile = values.journal === undefined ? undefined : resolve(io.cwd, values.journal as string);
  if (journalFile && existsSync(journalFile)) {
    err(`${journalFile} exists: a rehearsal runs on new nodes, so an earlier journal would skip steps they never saw; remove it or name another`);
    return EXIT_INPUT;
  }

  // ---- the spec: valid, moved into --subnet, every host as the Debian 12 node it runs on
  const loaded = deps.loadSpec(specArg, io);
  deps.printWarnings(loaded.warnings, io);
  if (!loaded.ok) {
    io.stderr(`${loaded.source}: invalid cluster spec\n${formatIssues(loaded.issues)}\n`);
    return EXIT_INPUT;
  }
  let spec = loaded.spec;
  const changes: string[] = [];
  if (subnet !== undefined) {
    try {
      const r = remapSpec(spec, subnet);
      spec = r.spec;
      io.stdout(`rehearsing in ${subnet} (--subnet): every address keeps its offset\n`);
      const w = Math.max(...r.mapping.map((m) => m.host.length));
      const fw = Math.max(...r.mapping.map((m) => m.from.length));
      for (const m of r.mapping) io.stdout(`  ${m.host.padEnd(w)}  ${m.from.padEnd(fw)}  ->  ${m.to}\n`);
      changes.push(`moved into ${subnet}`);
    } catch (e) {
      if (!(e instanceof RemapError)) throw e;
      err(e.message);
      return EXIT_INPUT;
    }
  }
  const deb = asDebianNodes(spec);
  if (deb.changed.length > 0) {
    const osOf = new Map(spec.spec.hosts.map((h) => [h.name, h.os]));
    spec = deb.spec;
    for (const h of deb.changed) {
      const os = osOf.get(h)!;
      const p = osProfile(os);
      io.stderr(`WARNING: ${h} is os ${os} but is rehearsed on a Debian 12 node, as ${p.rehearsal.as}. What differs from ${p.displayName}:\n`);
      for (const n of p.rehearsal.unchecked) io.stderr(`  - ${n}\n`);
    }
    changes.push(`hosts as Debian 12 nodes (${deb.changed.map((h) => `${h}: ${osOf.get(h)}`).join(', ')})`);
  }
  if (changes.length > 0) {
    // what the rehearsal really installs must itself be a valid spec (a new host subnet may overlap pods or services)
    const again = parseSpec(spec);
    const seen = new Set(loaded.warnings.map((w) => `${w.path}\0${w.message}`));
    deps.printWarnings(again.warnings.filter((w) => !seen.has(`${w.path}\0${w.message}`)), io);
    if (!again.ok) {
      io.stderr(`${loaded.source} (${changes.join('; ')}): invalid cluster spec\n${formatIssues(again.issues)}\n`);
      return EXIT_INPUT;
    }
    spec = again.spec;
  }
  const secrets = deps.secretsFor(spec, values, io);
  if (!secrets) return EXIT_INPUT;
  const view = deriveView(spec);
  const prepared = prepareInstall({ view, secrets, executor: 'kind', bundleDir: resolve(io.cwd, bundleArg) });

  // ---- the bundle, before anything is made
  const b = await bundleForApply(prepared, io);
  if (!b.ok) return EXIT_INPUT;

  // ---- Ctrl-C: cancel whatever runs, then clean up
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      io.stderr(`\nrehearse: cancelling (the step in flight is stopped), then ${values.keep ? 'keeping' : 'removing'} the nodes\n`);
      ac.abort(new Error('interrupted'));
    } else {
      io.stderr('rehearse: still cleaning up; wait for it (leftovers would be removed by the next rehearsal)\n');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = Date.now();
  let nodes: RehearsalNodes | undefined;
  try {
    try {
      nodes = await createNodes(view, {
        image,
        signal: ac.signal,
        keep: !!values.keep,
        log: (line) => io.stdout(`nodes: ${line}\n`),
      });
    } catch (e) {
      if (e instanceof NodesInputError || e instanceof RemapError) {
        err(`${e.message}\nnothing was created`);
        return EXIT_INPUT;
      }
      if (ac.signal.aborted) {
        err('cancelled while making the nodes; they were removed');
        return EXIT_FAIL;
      }
      err(`could not make the nodes (whatever was made is removed): ${(e as Error).message}`);
      return EXIT_FAIL;
    }
    const nodesMs = Date.now() - t0;
    io.stdout(`nodes: ready in ${secs(nodesMs)} (run ${nodes.runId})\n`);

    // ---- the install: the same path as `apply --executor kind`
    const phases: { phase: string; ok: boolean; durationMs: number }[] = [];
    const onEvent = (e: RunEvent) => {
      if (e.type === 'phase-finished') phases.push({ phase: e.phase, ok: e.ok, durationMs: e.durationMs });
    };
    const t1 = Date.now();
    let result: { summary: RunSummary; plan: Plan } | undefined;
    let crash: Error | undefined;
    const journal = journalFile ? new FileJournal(journalFile) : new MemoryJournal();
    try {
      result = await applyLocal({
        prepared,
        bundle: b.bundle,
        journal,
        concurrency,
        verbose: !!values.verbose,
        signal: ac.signal,
        io,
        onEvent,
      });
    } catch (e) {
      crash = e as Error;
    }
    const installMs = Date.now() - t1;
    const ok = !!result?.summary.ok;

    // ---- the report
    const out: string[] = [];
    const verdict = ok ? 'SUCCEEDED' : result?.summary.cancelled ? 'CANCELLED' : 'FAILED';
    out.push('', `== Rehearsal of Cluster "${view.name}": ${verdict} (run ${nodes.runId}; nodes ${secs(nodesMs)}, install ${secs(installMs)})`);
    out.push(`network ${nodes.network.name}: ${nodes.network.subnet}, gateway ${nodes.network.gateway}${nodes.network.internal ? ', internal (no route out)' : ''}; image ${image}`);
    const w = Math.max(...nodes.nodes.map((n) => n.host.length));
    for (const n of nodes.nodes) out.push(`  ${n.host.padEnd(w)}  ${n.address.padEnd(15)} ${n.interface.padEnd(8)} ${n.containerName}`);
    out.push(`API endpoint: https://${view.endpoint.host}:${view.endpoint.port}${nodes.vip ? ' (the VIP)' : ''}`);
    if (result) {
      out.push('phases:');
      const pw = Math.max(...result.plan.phases.map((p) => p.name.length));
      for (const p of result.plan.phases) {
        const f = phases.find((x) => x.phase === p.name);
        const state = f?.ok ? 'ok' : result.summary.cancelled ? 'cancelled' : 'FAILED';
        out.push(`  ${p.name.padEnd(pw)}  ${f ? `${secs(f.durationMs).padStart(8)}  ${state}` : '       -  not reached'}`);
      }
      const s = result.summary;
      out.push(`steps: ${s.changed} changed, ${s.skipped} skipped, ${s.failed} failed`);
      if (ok) {
        // the runner's own cost: wall time against the longest chain of dependent steps (src/runner/critical-path.ts)
        const cp = criticalPath(result.plan, journal, view.firstControlPlane.name);
        out.push(`critical path of the plan: ${secs(cp.ms)} (the longest chain of dependent steps, from the journal); install wall time / critical path = ${(installMs / Math.max(1, cp.ms)).toFixed(3)}`);
      }
      if (s.failures.length > 0) {
        out.push('failed steps:');
        for (const f of s.failures) out.push(`  ${f.stepId} on ${f.host}:`, ...f.error.split('\n').map((l) => `    ${l}`));
      }
    } else {
      out.push(`the install could not run: ${crash?.message ?? 'unknown error'}`);
    }
    if (!ok && !ac.signal.aborted) for (const w of nodes.warnings) out.push(`WARNING (a likely cause): ${w}`);
    io.stdout(`${out.join('\n')}\n`);
    if (!ac.signal.aborted) {
      const pool = executorsFor('kind', view, secrets);
      const cp = pool.get(view.firstControlPlane.name);
      try {
        const r = await cp.run(['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'nodes', '-o', 'wide'], { allowFailure: true, timeoutMs: 30_000 });
        io.stdout(`kubectl get nodes -o wide (on ${view.firstControlPlane.name}):\n`);
        io.stdout(r.exitCode === 0 ? `${r.stdout.trimEnd().replace(/^/gm, '  ')}\n` : `  (exit ${r.exitCode ?? r.signal}: ${tail(r.stderr || r.stdout, 3).replace(/\n/g, '\n  ')})\n`);
      } catch (e) {
        io.stdout(`kubectl get nodes: ${(e as Error).message}\n`);
      } finally {
        await pool.closeAll();
      }
    }

    // ---- keep, or remove
    if (values.keep) {
      nodes.detach();
      const kept = await keepReport(view, secrets, nodes, io);
      io.stdout(kept);
      nodes = undefined;
    }
    return ok ? EXIT_OK : EXIT_FAIL;
  } finally {
    if (nodes) {
      const t2 = Date.now();
      try {
        await nodes.destroy();
        io.stdout(`removed the nodes, their volumes, the network and the firewall rule (${secs(Date.now() - t2)})\n`);
      } catch (e) {
        err((e as Error).message);
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** --keep: admin.conf copied here (0600) and how to reach the cluster and remove it. */
async function keepReport(view: ClusterView, secrets: Secrets, nodes: RehearsalNodes, io: Io): Promise<string> {
  const out: string[] = ['', `kept: rehearsal ${nodes.runId} stays running.`];
  const pool = executorsFor('kind', view, secrets);
  const cp = pool.get(view.firstControlPlane.name);
  try {
    const r = await cp.run(['cat', '/etc/kubernetes/admin.conf'], { allowFailure: true, timeoutMs: 30_000 }).catch((e: Error) => ({ exitCode: null, stdout: '', stderr: e.message }));
    if (r.exitCode === 0 && r.stdout.includes('apiVersion')) {
      const file = resolve(io.cwd, `${view.name}.admin.conf`);
      writeFileSync(file, r.stdout, { mode: 0o600 });
      chmodSync(file, 0o600);
      out.push(`  admin.conf: ${file} (mode 0600; the cluster's admin credentials)`);
      out.push(`  kubectl --kubeconfig ${file} get nodes`);
    } else {
      out.push(`  no admin.conf copied: ${r.exitCode === null ? r.stderr : `/etc/kubernetes/admin.conf is not on ${view.firstControlPlane.name} (kubeadm init did not run)`}`);
    }
  } finally {
    await pool.closeAll();
  }
  out.push(`  API endpoint: https://${view.endpoint.host}:${view.endpoint.port}${nodes.vip ? ` (the VIP ${nodes.vip})` : ''}`);
  out.push(`  a shell on a node: docker exec -it ${nodes.nodes[0]!.containerName} bash`);
  out.push(`  remove it: airgap-k8s rehearse --remove ${nodes.runId}`);
  return `${out.join('\n')}\n`;
}
