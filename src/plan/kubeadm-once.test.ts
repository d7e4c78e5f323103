// kubeadm init/join run at most once per host: the plan's exec step, run for real in a shell with a stand-in kubeadm.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFixture, testInputs } from '../../test/support/fixtures.js';
import { buildPlan, KUBEADM_LOCK } from './build.js';
import type { Step } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'airgap-kubeadm-once-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function joinStep(): Extract<Step, { kind: 'exec' }> {
  const plan = buildPlan(loadFixture('rehearsal'), testInputs());
  const s = plan.phases.flatMap((p) => p.steps).find((x) => x.id === 'control-planes/cp2/kubeadm-join');
  if (!s || s.kind !== 'exec') throw new Error('no join step');
  return s;
}

describe('kubeadm init/join at most once per host', () => {
  it('runs kubeadm when the host has not joined, and not again once the file it leaves exists (under one host lock)', () => {
    const step = joinStep();
    expect(step.argv.slice(0, 2)).toEqual(['flock', KUBEADM_LOCK]);
    const done = join(dir, 'kubelet.conf');
    const calls = join(dir, 'calls');
    writeFileSync(join(dir, 'kubeadm'), `#!/bin/sh\necho "kubeadm $*" >> ${calls}\ntouch ${done}\n`);
    chmodSync(join(dir, 'kubeadm'), 0o755);
    // the real argv with the lock and the done file pointed into the scratch dir
    const argv = step.argv.map((a) => (a === KUBEADM_LOCK ? join(dir, 'lock') : a === '/etc/kubernetes/kubelet.conf' ? done : a));
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    const first = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' });
    expect(first.status).toBe(0);
    expect(existsSync(done)).toBe(true);
    const second = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('already done');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['kubeadm join --config /etc/kubernetes/airgap-k8s/kubeadm-join.yaml']);
  });
});
