// npm run bench (CLI part): how long `airgap-k8s validate` takes from a cold process — node's own start, loading the
// modules, parsing and checking the rehearsal fixture — as the built binary (`node dist/cli/main.js`, what `npm
// link` puts on PATH) and through `npx` inside this checkout (npm's own resolution on top). Measured, never asserted.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = join(import.meta.dirname, '..');
const line = (name: string, value: string) => console.log(`${name.padEnd(44)} ${value}`);

function p50(runs: number, argv: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: 'ignore' });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exit ${r.status}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function benchCliStartup(): void {
  const main = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(main)) return line('cli validate start-up', 'skipped: no dist/ (npm run build)');
  const fixture = join(ROOT, 'fixtures/valid-rehearsal.yaml');
  const bare = p50(7, [process.execPath, '-e', '']);
  const built = p50(7, [process.execPath, main, 'validate', fixture]);
  const npx = p50(3, ['npx', '--no-install', 'airgap-k8s', 'validate', fixture]);
  line('cli validate start-up (node dist/cli/main.js)', `p50 ${built.toFixed(0)} ms (node alone ${bare.toFixed(0)} ms)`);
  line('cli validate start-up (npx airgap-k8s)', `p50 ${npx.toFixed(0)} ms (x${(npx / built).toFixed(2)})`);
}
