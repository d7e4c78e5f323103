// npm run bench (cluster part): the whole offline HA install, timed — `airgap-k8s rehearse` of the rehearsal fixture
// (3 control planes + load balancers, 1 worker, Calico VXLAN) from the supply bundle on four node containers. Reports
// the install wall time against the plan's critical path (the longest chain of dependent steps, from the journal;
// src/runner/critical-path.ts): goal <= 1.15. Measured, never asserted. About 4 minutes; needs root, dockerd, the
// node image (`npm run testbed:setup`) and the supply bundle (`npm run supply`); prints a skip line without them.
// AIRGAP_K8S_BENCH_CLUSTER=0 skips it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goal } from './goals.js';

const ROOT = join(import.meta.dirname, '..');
const line = (name: string, value: string) => console.log(`${name.padEnd(44)} ${value}`);
const CACHE = process.env.AIRGAP_K8S_CACHE || '/var/cache/airgap-k8s';

export async function benchInstall(): Promise<void> {
  const name = 'install: rehearse 3 cp+lb, 1 worker';
  if (process.env.AIRGAP_K8S_BENCH_CLUSTER === '0') return line(name, 'skipped (AIRGAP_K8S_BENCH_CLUSTER=0)');
  const bundle = process.env.AIRGAP_K8S_SUPPLY_BUNDLE ?? join(CACHE, 'supply/bundles/rehearsal');
  if (!existsSync(join(bundle, 'bundle.yaml'))) return line(name, `skipped: no supply bundle at ${bundle} (npm run supply)`);
  if (process.getuid?.() !== 0 || !existsSync('/var/run/docker.sock')) return line(name, 'skipped: needs root and dockerd (npm run testbed:setup)');
  const tmp = mkdtempSync(join(tmpdir(), 'airgap-k8s-bench-install-'));
  try {
    const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), 'rehearse', join(ROOT, 'fixtures/valid-rehearsal.yaml'), '--bundle', bundle], { cwd: tmp });
      let text = '';
      c.stdout.on('data', (b: Buffer) => (text += b.toString()));
      c.stderr.on('data', (b: Buffer) => (text += b.toString()));
      c.on('error', reject);
      c.on('close', (code) => resolve({ code, text }));
    });
    const verdict = /== Rehearsal of Cluster "[^"]+": (\w+) \(run \w+; nodes ([\dm.s]+), install ([\dm.s]+)\)/.exec(out.text);
    const cp = /critical path of the plan: ([\dm.s]+) .* = ([\d.]+)/.exec(out.text);
    if (out.code !== 0 || !verdict || !cp) {
      line(name, `FAILED (exit ${out.code}); last lines:`);
      console.log(out.text.split('\n').slice(-25).join('\n'));
      return;
    }
    line(name, `nodes ${verdict[2]}, install ${verdict[3]}, critical path ${cp[1]}`);
    line('install wall time / plan critical path', `x${cp[2]} (goal <= 1.15)`);
    goal('install wall time / plan critical path', Number(cp[2]), 1.15, 'max', 'x');
    for (const l of out.text.split('\n').filter((l) => /^ {2}[a-z-]+ +[\dm.s]+ {2}ok$/.test(l))) console.log(`  phase ${l.trim()}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
