// Shared by the real-cluster tests: the rehearsal spec placed on a test network, the install through the kind
// executor, and a client of the installed cluster (@kubernetes/client-node) through the VIP.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { localBundle } from '../../src/bundle/io/source.js';
import { KindExecutor } from '../../src/executors/kind/kind.js';
import type { Executor } from '../../src/executors/executor.js';
import { readFile } from '../../src/executors/ops.js';
import { renderView } from '../../src/generators/index.js';
import type { RenderInputs, GeneratedFile } from '../../src/generators/types.js';
import { outputPath } from '../../src/generators/types.js';
import { planFor } from '../../src/plan/build.js';
import type { Plan } from '../../src/plan/types.js';
import type { Journal } from '../../src/runner/journal.js';
import { secretValues } from '../../src/runner/redact.js';
import { runPlan, type RunEvent, type RunSummary } from '../../src/runner/runner.js';
import { inputsFromSecrets, loadOrCreateSecrets } from '../../src/secrets/secrets.js';
import type { Secrets } from '../../src/secrets/types.js';
import type { ClusterView } from '../../src/spec/derive.js';
import type { Testbed } from '../testbed/testbed.js';
import { REHEARSAL_SPEC, viewOf } from '../supply/supply.js';

export const LB_PORT = 6553;
const ROOT = join(import.meta.dirname, '../..');

/**
 * The rehearsal fixture with its hosts at the test bed's addresses and the VIP on a spare one. Test-bed hosts the
 * fixture does not list (a spare worker for the day-two tests) stay out of the spec.
 */
export function rehearsalOn(tb: Testbed, vip: string): string {
  let text = readFileSync(REHEARSAL_SPEC, 'utf8');
  for (const h of tb.hosts) {
    const m = new RegExp(`\\{name: ${h.name}, address: [0-9.]+,`).exec(text);
    if (!m) continue;
    text = text.replace(m[0], `{name: ${h.name}, address: ${h.address},`);
  }
  return text
    .replace(/endpoint: \{host: [0-9.]+, port: 6553\}/, `endpoint: {host: ${vip}, port: ${LB_PORT}}`)
    .replace(/hostSubnet: [0-9./]+/, `hostSubnet: ${tb.network.subnet}`);
}

/** The spec with one more worker (a test-bed host), listed after w1. */
export function withWorker(spec: string, tb: Testbed, name: string, role: 'worker' | 'control-plane' = 'worker'): string {
  const h = tb.host(name);
  const w1 = /^ {4}- \{name: w1, .*\n/m.exec(spec);
  if (!w1) throw new Error('the spec has no w1 line');
  return spec.replace(w1[0], `${w1[0]}    - {name: ${name}, address: ${h.address}, roles: [${role}], interface: eth0, os: debian12}\n`);
}

export interface Install {
  view: ClusterView;
  secrets: Secrets;
  inputs: RenderInputs;
  files: GeneratedFile[];
  plan: Plan;
  executors: Map<string, Executor>;
}

export function prepareInstall(tb: Testbed, specText: string, secretsFile: string, bundle: string): Install {
  const view = viewOf(specText);
  const s = loadOrCreateSecrets(secretsFile, view.cluster);
  if (!s.ok) throw new Error(s.issues.map((i) => i.message).join('\n'));
  const inputs: RenderInputs = {
    ...inputsFromSecrets(s.secrets),
    overlay: 'container-node',
    upstream: { calicoManifest: readFileSync(join(bundle, `manifests/calico-${view.cluster.spec.addons.cni.calico.version}.yaml`), 'utf8') },
  };
  const files = renderView(view, inputs);
  const plan = planFor(view, inputs);
  const executors = new Map<string, Executor>(tb.hosts.map((h) => [h.name, new KindExecutor({ host: h.name, container: h.containerId })]));
  return { view, secrets: s.secrets, inputs, files, plan, executors };
}

export async function install(
  i: Install,
  bundle: string,
  journal: Journal,
  onEvent: (e: RunEvent) => void,
  opts: { signal?: AbortSignal } = {},
): Promise<RunSummary> {
  return runPlan({
    plan: i.plan,
    files: new Map(i.files.map((f) => [outputPath(f), f.content])),
    executor: (h) => i.executors.get(h)!,
    clusterHost: i.view.firstControlPlane.name,
    journal,
    probes: true,
    secrets: secretValues(i.secrets),
    bundle: localBundle(i.view, bundle),
    onEvent,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** A client of the installed cluster through the VIP, from the first control plane's admin.conf. */
export async function clusterClient(i: Install): Promise<k8s.KubeConfig> {
  const text = (await readFile(i.executors.get(i.view.firstControlPlane.name)!, '/etc/kubernetes/admin.conf')).toString('utf8');
  const kc = new k8s.KubeConfig();
  kc.loadFromString(text);
  const server = kc.getCurrentCluster()?.server;
  if (server !== `https://${i.view.endpoint.host}:${i.view.endpoint.port}`) throw new Error(`admin.conf names ${server}, not the VIP endpoint`);
  return kc;
}

/** `airgap-k8s ARGS` as a child process (the real CLI); onLine sees each stdout line as it comes. */
export function cli(args: string[], onLine?: (line: string, child: ChildProcess) => void): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let partial = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      partial += b.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine?.(l, child);
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

/** Step ids the progress printer reported as finished (changed or ok). */
export function performed(out: string): string[] {
  return [...out.matchAll(/^\[\s*\d+\/\d+\] \S+\s+(?:changed|ok     ) (\S+) \(/gm)].map((m) => m[1]!);
}
