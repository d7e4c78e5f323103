// A crashed run leaks nothing for long: a process that made a test bed is SIGKILLed (no destroy, no exit hook),
// its containers, network, iptables rule and temp dir are still there, and sweepTestbeds() removes them all because
// the owning process is gone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LABEL, parseIntraBridgeRules, sweepTestbeds } from './testbed.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

function leftovers(runId: string) {
  const containers = spawnSync('docker', ['ps', '-aq', '--filter', `label=${LABEL}=${runId}`], { encoding: 'utf8' }).stdout.trim();
  const networks = spawnSync('docker', ['network', 'ls', '-q', '--filter', `label=${LABEL}=${runId}`], { encoding: 'utf8' }).stdout.trim();
  const listing = spawnSync('iptables', ['-w', '10', '-S', 'DOCKER-USER'], { encoding: 'utf8' }).stdout;
  const rules = parseIntraBridgeRules(listing).filter((r) => r.runId === runId);
  return { containers, networks, rules };
}

describe('testbed: leftovers of a crashed run', () => {
  it('are removed by sweepTestbeds once the owning process is dead', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const ready = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child not READY within 150 s; stderr:\n${err}`)), 150_000);
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = out.match(/^READY (\S+) (\S+) (\S+)$/m);
        if (m) {
          clearTimeout(timer);
          resolve([m[1]!, m[2]!, m[3]!]);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before READY; stderr:\n${err}`));
      });
    });
    const [runId, network, privateKeyPath] = ready as [string, string, string];
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;

    const before = leftovers(runId);
    expect(before.containers, 'the crashed run left its container').not.toBe('');
    expect(before.networks, 'the crashed run left its network').not.toBe('');
    expect(before.rules, 'the crashed run left its iptables rule').toHaveLength(1);
    expect(existsSync(privateKeyPath), 'the crashed run left its temp dir').toBe(true);

    const swept = await sweepTestbeds();
    expect(swept.networks.length).toBeGreaterThanOrEqual(1);
    expect(leftovers(runId)).toEqual({ containers: '', networks: '', rules: [] });
    expect(spawnSync('iptables', ['-w', '10', '-S', 'DOCKER-USER'], { encoding: 'utf8' }).stdout).not.toContain(runId);
    expect(spawnSync('docker', ['network', 'inspect', network]).status).not.toBe(0);
    expect(existsSync(dirname(privateKeyPath))).toBe(false);
  }, 240_000);
});
