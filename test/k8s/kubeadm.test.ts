// Every kubeadm config we render, for every fixture, through the real kubeadm v1.34.3: `kubeadm config validate`
// must accept it without warnings, and `kubeadm config images list --config <init file>` must print exactly the
// images src/images.ts kubeadmImages lists (what the offline bundle carries and the registry must hold) — with and
// without a private registry, so kubeadm's flattened <registry>/coredns path is checked against the binary itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputPath, renderCluster, type GeneratedFile } from '../../src/generators/index.js';
import { kubeadmImages } from '../../src/images.js';
import { deriveView } from '../../src/spec/derive.js';
import { DEFAULT_KUBERNETES_VERSION } from '../../src/versions.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';
import { klogWarnings, run, toolchainBin, TOOLCHAIN_TIMEOUT_MS } from './toolchain.js';

/** Where the kubeadm generator puts its files: hosts/<host>/etc/kubernetes/airgap-k8s/kubeadm-{init,join}.yaml */
const KUBEADM_CONFIG = /^hosts\/[^/]+\/etc\/kubernetes\/airgap-k8s\/kubeadm-[a-z]+\.yaml$/;
const PRIVATE_REGISTRY = 'registry.local:5000/k8s';

interface Case {
  fixture: string;
  registry: string;
  kubernetesVersion: string;
  configs: GeneratedFile[];
}

const cases: Case[] = validFixtureNames().map((fixture) => {
  const spec = loadFixture(fixture);
  const view = deriveView(spec);
  const configs = renderCluster(spec, testInputs()).filter((f) => KUBEADM_CONFIG.test(outputPath(f)));
  return { fixture, registry: view.registry, kubernetesVersion: view.kubernetesVersion, configs };
});

let kubeadm = '';
let work = '';

beforeAll(async () => {
  kubeadm = join(await toolchainBin(), 'kubeadm');
  work = mkdtempSync(join(tmpdir(), 'airgap-k8s-kubeadm-'));
}, TOOLCHAIN_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Write a rendered file under the temp dir (mode 0600: they hold the bootstrap token) and return its path. */
function materialise(fixture: string, f: GeneratedFile): string {
  const p = join(work, fixture, outputPath(f));
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, f.content, { mode: 0o600 });
  return p;
}

/** What kubeadm prints besides its result: klog W/E lines and its own "[...] WARNING" lines. */
function warnings(stderr: string, stdout: string): string[] {
  return [...klogWarnings(stderr), ...`${stderr}\n${stdout}`.split('\n').filter((l) => /warning/i.test(l) && !/^[WE]\d{4} /.test(l))];
}

describe('kubeadm v1.34.3', () => {
  it('is the version the runbook pins', async () => {
    const r = await run(kubeadm, ['version', '-o', 'short']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(DEFAULT_KUBERNETES_VERSION);
  });

  it('the fixtures cover kubeadm with and without a private registry', () => {
    expect(cases.some((c) => c.registry !== '')).toBe(true);
    expect(cases.some((c) => c.registry === '')).toBe(true);
  });

  it('our image table equals `kubeadm config images list --kubernetes-version` (upstream and private registry)', async () => {
    const upstream = await run(kubeadm, ['config', 'images', 'list', '--kubernetes-version', DEFAULT_KUBERNETES_VERSION]);
    expect(upstream.code, upstream.stderr).toBe(0);
    expect(upstream.stdout.trim().split('\n')).toEqual(kubeadmImages(DEFAULT_KUBERNETES_VERSION, ''));
    const mirrored = await run(kubeadm, [
      'config', 'images', 'list', '--kubernetes-version', DEFAULT_KUBERNETES_VERSION, '--image-repository', PRIVATE_REGISTRY,
    ]);
    expect(mirrored.code, mirrored.stderr).toBe(0);
    expect(mirrored.stdout.trim().split('\n')).toEqual(kubeadmImages(DEFAULT_KUBERNETES_VERSION, PRIVATE_REGISTRY));
  });

  describe.each(cases)('fixture $fixture', (c) => {
    it('renders an init config for the first control plane and a join config for every other node', () => {
      const paths = c.configs.map(outputPath);
      expect(paths.filter((p) => p.endsWith('/kubeadm-init.yaml'))).toHaveLength(1);
      expect(paths.length).toBeGreaterThanOrEqual(1);
    });

    it.each(c.configs.map((f) => ({ path: outputPath(f), file: f })))('$path passes `kubeadm config validate`', async ({ file }) => {
      const p = materialise(c.fixture, file);
      const r = await run(kubeadm, ['config', 'validate', '--config', p]);
      expect(r.code, `${r.command}\n${r.stdout}\n${r.stderr}`).toBe(0);
      expect(warnings(r.stderr, r.stdout), r.command).toEqual([]);
    });

    it(`kubeadm config images list --config <init> equals kubeadmImages (registry: ${c.registry || 'none'})`, async () => {
      const init = c.configs.find((f) => outputPath(f).endsWith('/kubeadm-init.yaml'));
      expect(init, 'no kubeadm-init.yaml rendered').toBeDefined();
      const p = materialise(c.fixture, init!);
      const r = await run(kubeadm, ['config', 'images', 'list', '--config', p]);
      expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
      expect(warnings(r.stderr, ''), r.command).toEqual([]);
      expect(r.stdout.trim().split('\n')).toEqual(kubeadmImages(c.kubernetesVersion, c.registry));
    });
  });

  describe('negative controls: validate is strict, so passing means something', () => {
    const init = cases.flatMap((c) => c.configs).find((f) => outputPath(f).endsWith('/kubeadm-init.yaml'));
    const broken: { what: string; from: RegExp; to: string; error: RegExp }[] = [
      { what: 'an unknown field in ClusterConfiguration', from: /^kind: ClusterConfiguration$/m, to: '$&\nnotAKubeadmField: true', error: /notAKubeadmField/ },
      {
        what: 'an unknown field in KubeletConfiguration (component configs are strict too)',
        from: /^kind: KubeletConfiguration$/m,
        to: '$&\nnotAKubeletField: true',
        error: /notAKubeletField/,
      },
      { what: 'a podSubnet that is not a CIDR', from: /^(\s+)podSubnet: .*$/m, to: '$1podSubnet: not-a-cidr', error: /podSubnet|not-a-cidr/ },
    ];

    it.each(broken)('$what fails', async ({ what, from, to, error }) => {
      expect(init, 'no kubeadm-init.yaml rendered').toBeDefined();
      const bad = init!.content.replace(from, to);
      expect(bad, `the fixture's init config has nothing to break for: ${what}`).not.toBe(init!.content);
      const p = join(work, `negative-${broken.findIndex((b) => b.what === what)}.yaml`);
      writeFileSync(p, bad, { mode: 0o600 });
      const r = await run(kubeadm, ['config', 'validate', '--config', p]);
      expect(r.code, r.command).not.toBe(0);
      expect(r.stderr).toMatch(error);
    });
  });
});
