// `airgap-k8s bundle list|verify|pack` and apply's bundle check, in-process over a captured Io.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, loadFixture, ROOT } from '../../test/support/fixtures.js';
import { capture } from '../../test/support/capture.js';
import { deriveView } from '../spec/derive.js';
import { makeBundle } from '../bundle/io/testing.js';
import { run } from './commands.js';

const HA = join(FIXTURES, 'valid-runbook-ha.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'cli-bundle-'));
const dir = join(tmp, 'bundle');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => makeBundle(dir, deriveView(loadFixture('runbook-ha'))));

describe('airgap-k8s bundle', { timeout: 60_000 }, () => {
  it('list: every item with the command that fetches it; --json for scripts; --script runs as sh', async () => {
    const io = capture();
    expect(await run(['bundle', 'list', HA], io)).toBe(0);
    expect(io.out).toMatch(/^Offline bundle for Cluster "gpu-prod": \d+ items; unpacked at \/data\/k8s on the hosts\./);
    expect(io.out).toContain('image      images/registry.k8s.io_pause_3.10.1.tar  registry.k8s.io/pause:3.10.1');
    expect(io.out).toContain('fetch: mkdir -p images && docker pull --platform linux/amd64 registry.k8s.io/pause:3.10.1 && docker save -o images/registry.k8s.io_pause_3.10.1.tar registry.k8s.io/pause:3.10.1');
    expect(io.out).toContain('fetch: mkdir -p packages/rhel8/containerd && yumdownloader --resolve --destdir packages/rhel8/containerd containerd.io-1.6.32');
    expect(io.out).toContain('fetch: mkdir -p manifests && curl -fL -o manifests/calico-v3.27.0.yaml https://raw.githubusercontent.com/projectcalico/calico/v3.27.0/manifests/calico.yaml');
    expect(io.out).toMatch(/Notes:\n {2}- model qwen-vllm: the vLLM weights directory/);
    const j = capture();
    expect(await run(['bundle', 'list', HA, '--json'], j)).toBe(0);
    const doc = JSON.parse(j.out);
    expect(doc).toMatchObject({ cluster: 'gpu-prod', bundleDir: '/data/k8s', registry: '' });
    expect(doc.items.map((i: { kind: string }) => i.kind)).toEqual(expect.arrayContaining(['os-package', 'image', 'chart', 'manifest', 'model', 'binary']));
    const s = capture();
    expect(await run(['bundle', 'list', HA, '--script'], s)).toBe(0);
    expect(s.out.startsWith('#!/bin/sh\n')).toBe(true);
    expect(spawnSync('sh', ['-n'], { input: s.out }).status).toBe(0);
    expect(await run(['bundle', 'list', HA, '--script', '--json'], capture())).toBe(2);
  });

  it('pack writes bundle.yaml (and with -o the archive); verify passes; exit 2 with every problem when broken', async () => {
    const p = capture();
    expect(await run(['bundle', 'pack', dir, '-o', join(tmp, 'b.tar.gz'), '--gzip'], p)).toBe(0);
    expect(p.out).toMatch(/^wrote .*bundle\.yaml: \d+ files \(\d+ binary, \d+ chart, \d+ image, \d+ manifest, \d+ model, \d+ os-package\), [\d.]+ MiB\npacked into .*b\.tar\.gz \([\d.]+ MiB, gzip\)/);
    const ok = capture();
    expect(await run(['bundle', 'verify', HA, dir], ok)).toBe(0);
    expect(ok.out).toMatch(/: complete for Cluster "gpu-prod": \d+ files, [\d.]+ MiB, every sha256 checked/);
    unlinkSync(join(dir, 'charts/dify-0.37.0.tgz'));
    unlinkSync(join(dir, 'images/registry.k8s.io_pause_3.10.1.tar'));
    const bad = capture();
    expect(await run(['bundle', 'verify', HA, dir], bad)).toBe(2);
    expect(bad.err).toContain('charts/dify-0.37.0.tgz: missing: chart dify 0.37.0');
    expect(bad.err).toContain('images/registry.k8s.io_pause_3.10.1.tar: missing: image registry.k8s.io/pause:3.10.1');
    expect(bad.err).toContain('`airgap-k8s bundle list SPEC` prints the command that fetches each item.');
    const j = capture();
    expect(await run(['bundle', 'verify', HA, dir, '--json'], j)).toBe(2);
    expect(JSON.parse(j.out).issues.length).toBe(4);
  });

  it('apply refuses to start on an incomplete bundle (exit 2, no host contacted)', async () => {
    const io = capture(tmp);
    expect(await run(['apply', HA, '--executor', 'dry-run', '--bundle', dir], io)).toBe(2);
    expect(io.err).toContain('the offline bundle has 4 problems; nothing was started');
    expect(io.out).toBe('');
  });

  it('apply over a complete bundle: verified first, then the uploads run (dry-run records them)', async () => {
    const d = join(tmp, 'complete');
    makeBundle(d, deriveView(loadFixture('runbook-ha')));
    expect(await run(['bundle', 'pack', d], capture())).toBe(0);
    const io = capture(tmp);
    expect(await run(['apply', HA, '--executor', 'dry-run', '--bundle', d, '--script'], io)).toBe(0);
    expect(io.err).toMatch(/offline bundle .*complete: \d+ files, [\d.]+ MiB verified in/);
    expect(io.out).toContain('preflight/local/bundle');
    expect(io.out).toMatch(/ airgap-bundle-stream \/data\/k8s\/bin\/helm-v3\.19\.0 4096 [0-9a-f]{64} 0644 0 {2}# stdin: \S*bin\/helm-v3\.19\.0 \(4096 bytes\)/);
    // Calico's upstream manifest came from the bundle: cluster/10-calico.yaml is applied, not the needs-upstream note
    expect(io.out).toContain('cni/cluster/apply/10-calico');
  });

  it('apply --executor dry-run without a bundle leaves the bundle steps out, and says so', async () => {
    const io = capture(tmp);
    expect(await run(['apply', HA, '--executor', 'dry-run', '--bundle', join(tmp, 'none')], io)).toBe(0);
    expect(io.err).toContain('note: no offline bundle at');
    expect(io.out).not.toContain('distribute/');
  });

  it('usage errors exit 2', async () => {
    expect(await run(['bundle'], capture())).toBe(2);
    expect(await run(['bundle', 'verify', HA], capture())).toBe(2);
    expect(await run(['bundle', 'pack', join(tmp, 'nope')], capture())).toBe(2);
    expect(await run(['bundle', 'pack', dir, '--gzip'], capture())).toBe(2);
    const h = capture();
    expect(await run(['bundle', '--help'], h)).toBe(0);
    expect(h.out).toContain('airgap-k8s bundle verify SPEC DIR');
  });
});
