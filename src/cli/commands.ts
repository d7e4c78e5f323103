// Command implementations, written against an Io so tests run them in-process.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseSpec } from '../spec/load.js';
import { formatIssues, type SpecIssue } from '../spec/issues.js';
import type { ClusterSpec } from '../spec/schema.js';
import type { Secrets } from '../secrets/types.js';
import { unignoredInGit } from '../secrets/git.js';
import { ensureDir, OutputDirError, writeRendered } from '../output.js';
import { loadOrCreateSecrets } from '../secrets/secrets.js';
import { EXAMPLE_SPEC_PATH, exampleSpecText } from '../spec/example.js';
import { formatPlan } from '../plan/index.js';
import { deriveView } from '../spec/derive.js';
import { FileJournal, MemoryJournal } from '../runner/journal.js';
import type { DryRunExecutor } from '../executors/dry-run/dry-run.js';
import { DelayedExecutor, EXECUTOR_KINDS, prepareInstall, type ExecutorKind } from '../install/index.js';
import { applyLocal, bundleDirArg, missingText } from './apply-local.js';
import { TOKEN_OPTIONS, TOKEN_USAGE, tokenCommand } from './token.js';
import { remoteApply, remoteStatus, remoteTarget, TLS_CLIENT_HELP, TLS_CLIENT_OPTIONS } from './remote.js';
import { SERVE_TLS_OPTIONS, serveCommand } from './serve.js';
import { ENV_HELP } from '../api/config.js';
import { BUNDLE_OPTIONS, BUNDLE_USAGE, bundleCommand, bundleForApply } from './bundle.js';
import { REHEARSE_OPTIONS, REHEARSE_USAGE, rehearseCommand } from '../rehearse/cli.js';
import { DIFF_USAGE, diffCommand, prepareChange } from './change.js';
import { CERTS_USAGE, certsCommand, DAY2_OPTIONS, ETCD_USAGE, etcdCommand, RESET_USAGE, resetCommand, UPGRADE_USAGE, upgradeCommand } from './day2.js';
import { forgetHosts, journalFileArg, STATE_HELP, stateFileArg, writeApplied } from './state.js';

import type { Io } from './io.js';

export type { Io };

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_INPUT = 2;

const USAGE = `airgap-k8s: typed config generators and installers for offline Kubernetes v1.34 clusters with GPU nodes

Usage:
  airgap-k8s validate [SPEC]                      check a cluster spec; every issue as "path: message"
  airgap-k8s render [SPEC] -o DIR [--secrets F]   write every file: DIR/hosts/<host>/<path>, DIR/cluster/...
  airgap-k8s plan [SPEC] [--json]                 print the install plan: phases, steps, probes
  airgap-k8s apply [SPEC] --executor E            run the plan (E: dry-run, ssh, local, kind) with live progress;
                                                  on a cluster applied before: only what changed (--yes to remove hosts)
  airgap-k8s diff [SPEC]                          what apply would change on the cluster as last applied
  airgap-k8s etcd snapshot|restore [SPEC] ...     etcd backup brought back here; the kubeadm HA restore
  airgap-k8s certs check|renew [SPEC]             certificate expiry on every node; renewal, one control plane at a time
  airgap-k8s upgrade [SPEC]                       kubernetesVersion raised: kubeadm upgrade in its documented order
  airgap-k8s reset [SPEC] --yes [--purge]         every host back to before the install
  airgap-k8s apply [SPEC] --server URL            the same through a running service (POST, then its event stream)
  airgap-k8s rehearse SPEC --bundle DIR           the dress rehearsal: the whole offline install on node containers here
  airgap-k8s serve [--listen HOST:PORT]           run the REST service (what npm start runs)
  airgap-k8s status ID --server URL               one install on the service: status, phase, steps
  airgap-k8s token create|revoke|list ...         the service's API tokens and their roles (viewer, operator, admin)
  airgap-k8s bundle list|verify|pack ...          the offline bundle: what it must hold, check it, pack it
  airgap-k8s <command> --help

SPEC is a YAML or JSON file ("-" reads stdin). Without SPEC the embedded example (the runbook's HA cluster) is used.
Exit codes: 0 ok, 1 failure, 2 bad input.
`;

interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: Io): Promise<number> | number;
}

const SECRETS_HELP = `  --secrets FILE      secrets file (default: airgap-k8s.secrets.yaml in the current directory); created with
                      fresh random values and mode 0600 when missing, completed when the spec needs more
`;

const commands: Record<string, Command> = {
  plan: {
    summary: 'print the install plan',
    usage: `Usage: airgap-k8s plan [SPEC] [--json] [--bundle DIR] [--secrets FILE]

Prints the phases and steps an install would run, per host, with what each step writes or runs. Steps marked
[on change] run only when a file they depend on changed; [always] are checks that run every time. The plan has
the same steps with or without the offline bundle; steps whose files are made from bundle files (Calico's
calico.yaml) show which, and their checksums only when the bundle is here.
  --json              the plan as JSON (file contents are referenced by path and sha256, never included)
  --bundle DIR        the unpacked offline bundle on this machine (default: spec.offline.bundleDir)
  --diff              what apply would change on the cluster as last applied (as \`airgap-k8s diff\`)
${STATE_HELP}${SECRETS_HELP}`,
    options: { json: { type: 'boolean' }, secrets: { type: 'string' }, bundle: { type: 'string' }, diff: { type: 'boolean' }, state: { type: 'string' }, journal: { type: 'string' } },
    run({ values, positionals }, io) {
      const l = loadWithSecrets(values, positionals, io);
      if (!l) return EXIT_INPUT;
      const view = deriveView(l.spec);
      if (values.diff) return diffCommand(view, l.secrets, values, stateFileArg(values, view.name, io), io);
      const p = prepareInstall({ view, secrets: l.secrets, executor: 'ssh', bundleDir: bundleDirArg(view, values, io) });
      if (p.missing.length > 0) io.stderr(`note: ${missingText(p)}: an install needs ${p.missing.length === 1 ? 'it' : 'them'} (apply refuses to start without)\n`);
      io.stdout(values.json ? `${JSON.stringify(p.plan, null, 2)}\n` : formatPlan(p.plan));
      return EXIT_OK;
    },
  },
  diff: {
    summary: 'what apply would change on the cluster as last applied',
    usage: DIFF_USAGE(SECRETS_HELP, STATE_HELP),
    options: { json: { type: 'boolean' }, secrets: { type: 'string' }, bundle: { type: 'string' }, state: { type: 'string' }, journal: { type: 'string' }, executor: { type: 'string' } },
    run({ values, positionals }, io) {
      if (values.executor !== undefined && !isExecutorKind(values.executor as string)) {
        io.stderr('diff: --executor must be dry-run, ssh, local or kind\n');
        return EXIT_INPUT;
      }
      const l = loadWithSecrets(values, positionals, io);
      if (!l) return EXIT_INPUT;
      const view = deriveView(l.spec);
      return diffCommand(view, l.secrets, values, stateFileArg(values, view.name, io), io);
    },
  },
  apply: {
    summary: 'run the install plan',
    usage: `Usage: airgap-k8s apply [SPEC] --executor dry-run|ssh|local|kind [options]

Runs the plan: phases in order, hosts in parallel within a phase, control planes joining one at a time. Each step
is skipped when its probe shows it is already done; a journal lets an interrupted install resume where it stopped.
  --executor E        dry-run (record what would run; nothing is touched), ssh (the spec's hosts), local (this
                      machine for every host: only for single-host specs and tests), kind (each host is a node
                      container on this machine's docker, labelled airgap-k8s.node.host=<host> and
                      airgap-k8s.node.cluster=<metadata.name>; commands run through docker's exec API)
  --journal FILE      step journal (default .airgap-k8s/<cluster>.journal.json)
  --known-hosts FILE  ssh host keys (default ~/.ssh/known_hosts) for hosts without a pinned fingerprint
  --concurrency N     hosts at once within a phase (default 10)
  --verbose           show skipped steps and command output
  --script            with dry-run: print the recorded commands per host at the end
  --bundle DIR        the unpacked offline bundle on this machine (default: spec.offline.bundleDir); verified
                      against the spec before any host is touched (problems: exit 2, nothing started), then
                      uploaded to the hosts (resumable, sha256-checked). A dry run without it leaves those steps out
${SECRETS_HELP}
On a cluster applied from here before, only what changed runs (see \`airgap-k8s diff\`): a new host is prepared and
joined, the files that name it change on the others; a host gone from the spec is drained, reset and deleted
from the cluster (and etcd) - destructive steps that need --yes (without it: exit 2, nothing started).
${STATE_HELP}  --yes               confirm the destructive steps the plan names
  --full              run every step of the spec's plan (each probed on its host), not only what changed

Through a running service (airgap-k8s serve): the spec is posted to it and its event stream printed live; the
exit code is the install's final status. Ctrl-C asks the server to cancel (twice: stop following).
  --server URL        the service (or AIRGAP_K8S_SERVER); --executor is then dry-run, ssh or kind (default: the
                      server's)
  --token T           its bearer token (or --token-file F, AIRGAP_K8S_TOKEN, AIRGAP_K8S_TOKEN_FILE)
${TLS_CLIENT_HELP}`,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      ...TLS_CLIENT_OPTIONS,
      executor: { type: 'string' },
      journal: { type: 'string' },
      'known-hosts': { type: 'string' },
      concurrency: { type: 'string' },
      verbose: { type: 'boolean' },
      script: { type: 'boolean' },
      secrets: { type: 'string' },
      bundle: { type: 'string' },
      state: { type: 'string' },
      yes: { type: 'boolean' },
      full: { type: 'boolean' },
    },
    async run({ values, positionals }, io) {
      const kind = values.executor as string | undefined;
      if (values.server !== undefined || (values.token ?? values['token-file']) !== undefined) {
        const target = remoteTarget(values, process.env, io.cwd);
        if (!target.ok) {
          io.stderr(`apply: ${target.error}\n`);
          return EXIT_INPUT;
        }
        if (kind !== undefined && kind !== 'dry-run' && kind !== 'ssh' && kind !== 'kind') {
          io.stderr('apply: with --server, --executor must be dry-run, ssh or kind\n');
          return EXIT_INPUT;
        }
        const onSigint = { on: (fn: () => void) => (process.on('SIGINT', fn), () => void process.off('SIGINT', fn)) };
        return remoteApply({ ...target, specArg: positionals[0], ...(kind ? { executor: kind } : {}), verbose: !!values.verbose, io, interrupts: onSigint });
      }
      if (!isExecutorKind(kind)) {
        io.stderr('apply: --executor must be dry-run, ssh, local or kind\n');
        return EXIT_INPUT;
      }
      const concurrency = values.concurrency === undefined ? 10 : Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 200) {
        io.stderr('apply: --concurrency must be an integer 1-200\n');
        return EXIT_INPUT;
      }
      const l = loadWithSecrets(values, positionals, io);
      if (!l) return EXIT_INPUT;
      const view = deriveView(l.spec);
      const journalFile = journalFileArg(values, view.name, io);
      const stateFile = stateFileArg(values, view.name, io);
      const change = prepareChange(view, l.secrets, kind, values, stateFile, io);
      if (!change) return EXIT_INPUT;
      const p = change.prepared;
      // the offline bundle first: an install never starts on an incomplete one
      const b = await bundleForApply(p, io);
      if (!b.ok) return EXIT_INPUT;
      mkdirSync(dirname(journalFile), { recursive: true });
      const ac = new AbortController();
      const onSignal = () => ac.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const journal = kind === 'dry-run' ? new MemoryJournal() : new FileJournal(journalFile);
        const { summary, executors } = await applyLocal({
          prepared: p,
          bundle: b.bundle,
          journal,
          concurrency,
          verbose: !!values.verbose,
          knownHosts: values['known-hosts'] as string | undefined,
          signal: ac.signal,
          confirmed: !!values.yes,
          io,
        });
        if (kind === 'dry-run' && values.script) {
          // a dry run's executors are dry-run executors paced by a DelayedExecutor (src/install/executors.ts)
          for (const [host, e] of executors.made) io.stdout(`\n# ${host}\n${((e instanceof DelayedExecutor ? e.inner : e) as DryRunExecutor).script()}\n`);
        }
        if (summary.ok && kind !== 'dry-run') {
          forgetHosts(journal, p.change?.removed.map((h) => h.name) ?? []);
          writeApplied(stateFile, view, p.fullPlan);
        }
        return summary.ok ? EXIT_OK : EXIT_FAIL;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  },
  etcd: day2Command('etcd snapshot (brought back here, sha256-checked) and restore (the kubeadm HA procedure)', ETCD_USAGE, etcdCommand),
  certs: day2Command('certificate expiry on every node, and their renewal one control plane at a time', CERTS_USAGE, certsCommand),
  upgrade: day2Command('kubernetesVersion raised by a patch or one minor: kubeadm upgrade in its documented order', UPGRADE_USAGE, (v, _sub, l, io) => upgradeCommand(v, l, io), false),
  reset: day2Command('every host back to before the install (kubeadm reset and our files; --purge: packages, images too)', RESET_USAGE, (v, _sub, l, io) => resetCommand(v, l, io), false),
  rehearse: {
    summary: 'the dress rehearsal: the whole install on node containers here',
    usage: REHEARSE_USAGE(SECRETS_HELP),
    options: REHEARSE_OPTIONS,
    run: ({ values, positionals }, io) =>
      rehearseCommand(values, positionals, io, { loadSpec: loadSpecArg, printWarnings, secretsFor }),
  },
  serve: {
    summary: 'run the REST service',
    usage: `Usage: airgap-k8s serve [options]

Runs the REST service in the foreground (npm start): POST /clusters starts installs, GET /clusters/{id}/events
follows them; state in SQLite under the data directory, so installs interrupted by a restart (even kill -9)
resume from their journal. One JSON log line per request and per install state change on stderr. API reference:
GET /docs and /openapi.json (with the token), README "REST API".

${ENV_HELP}`,
    options: {
      listen: { type: 'string' },
      'data-dir': { type: 'string' },
      'secrets-dir': { type: 'string' },
      'token-file': { type: 'string' },
      'secrets-token-file': { type: 'string' },
      executor: { type: 'string' },
      'dry-run-delay-ms': { type: 'string' },
      'known-hosts': { type: 'string' },
      bundle: { type: 'string' },
      concurrency: { type: 'string' },
      'db-sync': { type: 'string' },
      'auth-failure-limit': { type: 'string' },
      ...SERVE_TLS_OPTIONS,
    },
    run: ({ values }, io) => serveCommand(values, io),
  },
  token: {
    summary: 'the REST service\'s API tokens: create, revoke, list',
    usage: TOKEN_USAGE,
    options: TOKEN_OPTIONS,
    run: ({ values, positionals }, io) => tokenCommand(values, positionals, io),
  },
  bundle: {
    summary: 'the offline bundle: list, verify, pack',
    usage: BUNDLE_USAGE,
    options: BUNDLE_OPTIONS,
    run: ({ values, positionals }, io) => bundleCommand(values, positionals, io, { loadSpec: loadSpecArg, printWarnings }),
  },
  status: {
    summary: 'show an install on a running service',
    usage: `Usage: airgap-k8s status ID --server URL [--token T] [--json]

Prints the install's status, phase, step counts and the steps running or failed.
Exit codes: 0 succeeded, pending or running; 1 failed or cancelled; 2 no such install.
  --server URL        the service (or AIRGAP_K8S_SERVER)
  --token T           its bearer token (or --token-file F, AIRGAP_K8S_TOKEN, AIRGAP_K8S_TOKEN_FILE)
  --json              the full record (every step with its state and timing) as JSON
${TLS_CLIENT_HELP}`,
    options: { server: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' }, ...TLS_CLIENT_OPTIONS },
    run({ values, positionals }, io) {
      const id = positionals[0];
      if (!id || positionals.length > 1) {
        io.stderr('status: give exactly one install ID (from apply --server or GET /clusters)\n');
        return EXIT_INPUT;
      }
      const target = remoteTarget(values, process.env, io.cwd);
      if (!target.ok) {
        io.stderr(`status: ${target.error}\n`);
        return EXIT_INPUT;
      }
      return remoteStatus({ ...target, id, json: !!values.json, io });
    },
  },
  validate: {
    summary: 'check a cluster spec',
    usage: `Usage: airgap-k8s validate [SPEC] [--json]

Loads SPEC strictly (unknown fields are errors), applies defaults and checks every cross-field rule.
Prints warnings; on errors prints every issue as "path: message" and exits 2.
  --json   print {ok, issues, warnings} as JSON
`,
    options: { json: { type: 'boolean' } },
    run({ values, positionals }, io) {
      const loaded = loadSpecArg(positionals[0], io);
      if (values.json) {
        io.stdout(`${JSON.stringify({ ok: loaded.ok, issues: loaded.ok ? [] : loaded.issues, warnings: loaded.warnings }, null, 2)}\n`);
        return loaded.ok ? EXIT_OK : EXIT_INPUT;
      }
      printWarnings(loaded.warnings, io);
      if (!loaded.ok) {
        io.stderr(`${loaded.source}: invalid cluster spec\n${formatIssues(loaded.issues)}\n`);
        return EXIT_INPUT;
      }
      io.stdout(`${loaded.source}: valid (Cluster "${loaded.spec.metadata.name}", ${loaded.spec.spec.hosts.length} hosts)\n`);
      return EXIT_OK;
    },
  },
  render: {
    summary: 'render every file for a spec',
    usage: `Usage: airgap-k8s render [SPEC] -o DIR [--bundle DIR] [--secrets FILE]

Writes DIR/hosts/<host>/<absolute path> for host files, DIR/cluster/NN-<name>.yaml manifests in apply order,
DIR/cluster/helm/<release>.values.yaml and DIR/images.txt. Files holding secrets are written with mode 0600.
Files made from bundle files (Calico's calico.yaml) need the bundle; without it a .needs-upstream.txt says what.
  -o, --out DIR       output directory (required)
  --bundle DIR        the unpacked offline bundle on this machine (default: spec.offline.bundleDir)
  --secrets FILE      secrets file (default: airgap-k8s.secrets.yaml in the current directory); created with
                      fresh random values and mode 0600 when missing, completed when the spec needs more
`,
    options: { out: { type: 'string', short: 'o' }, secrets: { type: 'string' }, bundle: { type: 'string' } },
    run({ values, positionals }, io) {
      const out = values.out as string | undefined;
      if (!out) {
        io.stderr('render: -o DIR is required\n');
        return EXIT_INPUT;
      }
      const loaded = loadSpecArg(positionals[0], io);
      printWarnings(loaded.warnings, io);
      if (!loaded.ok) {
        io.stderr(`${loaded.source}: invalid cluster spec\n${formatIssues(loaded.issues)}\n`);
        return EXIT_INPUT;
      }
      // the output directory first: an unwritable one fails at once (exit 1, its path), before any secret is made
      const dir = resolve(io.cwd, out);
      try {
        ensureDir(dir);
      } catch (e) {
        if (!(e instanceof OutputDirError)) throw e;
        io.stderr(`render: -o ${out}: ${e.message}\n`);
        return EXIT_FAIL;
      }
      const secrets = secretsFor(loaded.spec, values, io);
      if (!secrets) return EXIT_INPUT;
      const view = deriveView(loaded.spec);
      const p = prepareInstall({ view, secrets, executor: 'ssh', bundleDir: bundleDirArg(view, values, io) });
      if (p.missing.length > 0) io.stderr(`note: ${missingText(p)}: what is made from it is described in *.needs-upstream.txt instead\n`);
      const files = p.files;
      try {
        writeRendered(dir, files);
      } catch (e) {
        if (!(e instanceof OutputDirError)) throw e;
        io.stderr(`render: ${e.message}\n`);
        return EXIT_FAIL;
      }
      const hosts = new Set(files.filter((f) => f.kind === 'host').map((f) => (f.kind === 'host' ? f.host : '')));
      const secretCount = files.filter((f) => f.secret).length;
      io.stdout(`rendered ${files.length} files for Cluster "${loaded.spec.metadata.name}" (${hosts.size} hosts, ${secretCount} secret files at 0600) into ${dir}\n`);
      return EXIT_OK;
    },
  },
};

/** The secrets file for a (valid) spec: loaded, or created with fresh values, or completed; undefined after printing why not. */
function secretsFor(spec: ClusterSpec, values: Record<string, unknown>, io: Io): Secrets | undefined {
  const secretsFile = resolve(io.cwd, (values.secrets as string | undefined) ?? 'airgap-k8s.secrets.yaml');
  const secrets = loadOrCreateSecrets(secretsFile, spec);
  if (!secrets.ok) {
    io.stderr(`${secretsFile}: unusable secrets file\n${formatIssues(secrets.issues)}\n`);
    return undefined;
  }
  if (secrets.created) io.stderr(`created ${secretsFile} (mode 0600) with fresh secrets\n`);
  else if (secrets.added.length > 0) io.stderr(`added to ${secretsFile}: ${secrets.added.join(', ')}\n`);
  const tracked = unignoredInGit(secretsFile);
  if (tracked) io.stderr(`WARNING: ${secretsFile} holds the cluster's secrets and is inside the git work tree ${tracked} without being ignored there: add it to .gitignore (or keep it outside) before the next commit\n`);
  return secrets.secrets;
}

/** A day-two command: `airgap-k8s etcd snapshot [SPEC] ...` (with a subcommand), `airgap-k8s reset [SPEC] ...`. */
function day2Command(summary: string, usage: string, fn: typeof etcdCommand, subcommand = true): Command {
  return {
    summary,
    usage,
    options: DAY2_OPTIONS,
    run({ values, positionals }, io) {
      const l = loadWithSecrets(values, subcommand ? positionals.slice(1) : positionals, io);
      return l ? fn(values, subcommand ? positionals[0] : undefined, { view: deriveView(l.spec), secrets: l.secrets }, io) : EXIT_INPUT;
    },
  };
}

function isExecutorKind(k: string | undefined): k is ExecutorKind {
  return (EXECUTOR_KINDS as readonly (string | undefined)[]).includes(k);
}

function loadWithSecrets(values: Record<string, unknown>, positionals: string[], io: Io) {
  const loaded = loadSpecArg(positionals[0], io);
  printWarnings(loaded.warnings, io);
  if (!loaded.ok) {
    io.stderr(`${loaded.source}: invalid cluster spec\n${formatIssues(loaded.issues)}\n`);
    return undefined;
  }
  const secrets = secretsFor(loaded.spec, values, io);
  return secrets ? { spec: loaded.spec, secrets } : undefined;
}

type Loaded =
  | { ok: true; source: string; spec: ClusterSpec; warnings: SpecIssue[] }
  | { ok: false; source: string; issues: SpecIssue[]; warnings: SpecIssue[] };

function loadSpecArg(arg: string | undefined, io: Io): Loaded {
  let text: string;
  let source: string;
  if (!arg) {
    text = exampleSpecText();
    source = `${EXAMPLE_SPEC_PATH} (embedded example)`;
  } else {
    source = arg === '-' ? '<stdin>' : arg;
    try {
      text = io.readFile(arg === '-' ? '/dev/stdin' : resolve(io.cwd, arg));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
      return { ok: false, source, issues: [{ path: '', code: 'unreadable', message: `cannot read the spec file (${code})` }], warnings: [] };
    }
  }
  const r = parseSpec(text);
  return r.ok ? { ok: true, source, spec: r.spec, warnings: r.warnings } : { ok: false, source, issues: r.issues, warnings: r.warnings };
}

function printWarnings(warnings: SpecIssue[], io: Io): void {
  for (const w of warnings) io.stderr(`warning: ${w.path || '(document)'}: ${w.message}\n`);
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return name ? EXIT_OK : EXIT_INPUT;
  }
  if (name === '--version' || name === '-v') {
    io.stdout('airgap-k8s 0.1.0\n');
    return EXIT_OK;
  }
  const cmd = commands[name];
  if (!cmd) {
    io.stderr(`airgap-k8s: unknown command "${name}"\n\n${USAGE}`);
    return EXIT_INPUT;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr(`airgap-k8s ${name}: ${(e as Error).message}\n\n${cmd.usage}`);
    return EXIT_INPUT;
  }
  if (parsed.values.help) {
    io.stdout(cmd.usage);
    return EXIT_OK;
  }
  return cmd.run({ values: parsed.values as Record<string, unknown>, positionals: parsed.positionals }, io);
}
