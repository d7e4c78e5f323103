// Our containerd files through the real containerd (`scripts/setup-tools.sh` installs Debian's, 1.6.x):
// `containerd --config F config dump` prints the EFFECTIVE configuration, imports applied. For every valid fixture
// and every Kubernetes host whose config this containerd can read, the dump must show SystemdCgroup for runc (and
// nvidia), kubeadm's pause image as the sandbox, the right default runtime, the nvidia binary and certs.d.
// A negative control shows the bug the self-sufficient drop-in avoids: under containerd < 2.1 an nvidia-only
// drop-in silently drops runc's SystemdCgroup and resets the sandbox image.
// The `version = 3` files (containerd 2.x hosts), which 1.x cannot read, go through a real containerd v2.1.4 built
// from the Go module proxy by scripts/toolchain/containerd2.sh (cached outside the work tree; a cold build in the
// beforeAll takes minutes, and a failed build fails these tests).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeadmImages, MIRRORED_REGISTRIES, parseImage, pauseImage, resolveImage } from '../../src/images.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import { deriveView } from '../../src/spec/derive.js';
import { compareVersions } from '../../src/spec/net.js';
import { renderView } from '../../src/generators/index.js';
import {
  CONTAINERD_CONFIG,
  CONTAINERD_IMPORTS,
  CRI_V2,
  CRI_V3_IMAGES,
  CRI_V3_RUNTIME,
  configVersion,
  criPlugins,
  criSettings,
  containerdGenerator,
  NVIDIA_DROPIN,
  upstreamServer,
  writesNvidiaDropIn,
} from '../../src/generators/containerd/containerd.js';
import { effectiveCri, importReplacing } from '../../src/generators/containerd/effective.js';
import { kubeadmGenerator } from '../../src/generators/kubeadm/kubeadm.js';
import { KUBEADM_INIT_CONFIG } from '../../src/host-paths.js';
import { hashMarker } from '../../src/generators/render/marker.js';
import { toToml } from '../../src/generators/render/toml.js';
import { NVIDIA_CONTAINER_RUNTIME } from '../../src/versions.js';
import { loadFixture, testInputs, validFixtureNames } from '../support/fixtures.js';

type T = Record<string, any>;

const execFileAsync = promisify(execFile);

function installedContainerd(): string {
  let out: string;
  try {
    out = execFileSync('containerd', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  } catch (e) {
    throw new Error(`containerd is not installed: run scripts/setup-tools.sh (${(e as Error).message})`);
  }
  const m = /\sv?(\d+\.\d+\.\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the containerd version from: ${out}`);
  return m[1]!;
}

const INSTALLED = installedContainerd();
/** The config schema versions the installed containerd reads: 1.x only 2; 2.x both. */
const READABLE = configVersion(INSTALLED) === 3 ? [2, 3] : [2];

const scratch = mkdtempSync(join(tmpdir(), 'airgap-containerd-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let seq = 0;

/**
 * Writes config.toml into a fresh temp dir with its state moved there too: root/state point into the dir and
 * `imports` (expected exactly when `imports` is true) points at the dir's conf.d, which holds the drop-ins.
 * Returns the parsed output of `containerd config dump`.
 */
function dump(
  config: string,
  dropIns: Record<string, string>,
  imports = Object.keys(dropIns).length > 0,
  bin = 'containerd',
): { cfg: T; dir: string } {
  const dir = join(scratch, String(seq++));
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  for (const [name, text] of Object.entries(dropIns)) writeFileSync(join(dir, 'conf.d', name), text);
  const importsLine = `imports = [${JSON.stringify(CONTAINERD_IMPORTS)}]`;
  const hasImports = config.split('\n').includes(importsLine);
  // The rewrite must not silently miss: a GPU host's file has the imports line, no other file has one.
  expect(hasImports, 'imports line present exactly on GPU hosts').toBe(imports);
  const versionLine = /^version = \d+$/m;
  expect(config).toMatch(versionLine);
  const rewritten = config
    .replace(importsLine, `imports = [${JSON.stringify(join(dir, 'conf.d', '*.toml'))}]`)
    .replace(versionLine, (v) => `${v}\nroot = ${JSON.stringify(join(dir, 'root'))}\nstate = ${JSON.stringify(join(dir, 'state'))}`);
  const path = join(dir, 'config.toml');
  writeFileSync(path, rewritten);
  let out: string;
  try {
    out = execFileSync(bin, ['--config', path, 'config', 'dump'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; status?: number };
    throw new Error(`${bin} --config ${path} config dump exited ${err.status}: ${err.stderr?.slice(-2000)}`);
  }
  return { cfg: parseToml(out) as T, dir };
}

/** kubeadm's pause image as our kubeadm output implies it (imageRepository, or kubeadm's default registry). */
function kubeadmPause(name: string): string {
  const spec = loadFixture(name);
  const init = renderView(deriveView(spec), testInputs(), [kubeadmGenerator]).find((f) => f.path === KUBEADM_INIT_CONFIG)!;
  const cc = (yaml.loadAll(init.content) as T[]).find((d) => d.kind === 'ClusterConfiguration')!;
  const repo = cc.imageRepository ?? 'registry.k8s.io';
  const pause = kubeadmImages(cc.kubernetesVersion, spec.spec.offline.registry).find((i) => i.startsWith(`${repo}/pause:`))!;
  expect(pause).toBe(pauseImage(spec.spec.kubernetesVersion, spec.spec.offline.registry));
  return pause;
}

function hostFiles(name: string) {
  const view = deriveView(loadFixture(name));
  const files = renderView(view, testInputs(), [containerdGenerator]);
  const get = (host: string, path: string) => files.find((f) => f.kind === 'host' && f.host === host && f.path === path)?.content;
  return { view, get };
}

/**
 * Registers one test per Kubernetes host of every valid fixture whose config schema is `version`: the effective
 * config (`bin config dump`) has runc SystemdCgroup, kubeadm's pause as the sandbox, the right default runtime, the
 * nvidia binary and certs.d. `bin` is read when the tests run (the 2.x binary only exists after its beforeAll).
 */
function checkEffectiveConfigs(version: number, bin: () => string): void {
  for (const name of validFixtureNames()) {
    const { view, get } = hostFiles(name);
    if (configVersion(view.cluster.spec.containerRuntime.containerd.version) !== version) continue;
    for (const h of view.hosts.filter((x) => x.isControlPlane || x.isWorker)) {
      const title = `${name}/${h.name}${h.isGpu ? ' (GPU)' : ''}`;
      // GPU hosts whose toolkit the GPU Operator installs get no drop-in of ours: runc until the toolkit writes its own.
      const nvidia = writesNvidiaDropIn(view, h);
      it(`${title}: runc SystemdCgroup, sandbox = kubeadm pause, default runtime ${nvidia ? 'nvidia' : 'runc'}, certs.d`, () => {
        const dropIns: Record<string, string> = {};
        if (nvidia) dropIns['99-nvidia.toml'] = get(h.name, NVIDIA_DROPIN)!;
        const { cfg, dir } = dump(get(h.name, CONTAINERD_CONFIG)!, dropIns, h.isGpu, bin());
        expect(cfg.version, 'the dump is in the schema we wrote').toBe(version);
        // 1.6's dump lists the files it imported; 2.1.4's repeats the pattern as written (that the drop-in was read
        // shows in the effective values: only the drop-in makes nvidia the default).
        if (nvidia) expect(cfg.imports, 'the drop-in was read').toContain(join(dir, 'conf.d', version === 3 ? '*.toml' : '99-nvidia.toml'));
        expect(effectiveCri(cfg)).toEqual({
          sandbox: kubeadmPause(name),
          defaultRuntime: nvidia ? 'nvidia' : 'runc',
          runcSystemd: true,
          nvidia: nvidia ? { runtimeType: 'io.containerd.runc.v2', binary: NVIDIA_CONTAINER_RUNTIME, systemd: true } : undefined,
          configPath: '/etc/containerd/certs.d',
        });
        expect(cfg.disabled_plugins ?? []).not.toContain(version === 3 ? CRI_V3_RUNTIME : CRI_V2);
        if (version === 3) expect(cfg.disabled_plugins ?? []).not.toContain(CRI_V3_IMAGES);
      });
    }
  }
}

describe(`containerd ${INSTALLED}: effective config of every rendered config.toml (+ drop-in)`, () => {
  // `version = 3` files when this containerd is 1.x: the 2.x describe below checks them with a real containerd 2.1.4.
  for (const version of READABLE) checkEffectiveConfigs(version, () => 'containerd');
});

describe(`containerd ${INSTALLED}: controls`, () => {
  it('negative control: a drop-in holding ONLY the nvidia runtime loses SystemdCgroup and the sandbox image (< 2.1 replaces sections)', () => {
    if (compareVersions(INSTALLED, '2.1.0') >= 0) {
      // containerd >= 2.1 merges imports: the bug this control documents does not exist there.
      return;
    }
    const { view, get } = hostFiles('runbook-ha');
    const gpu = view.gpuHosts[0]!;
    const nvidiaOnly = hashMarker(view.name) + toToml({
      version: 2,
      plugins: {
        [CRI_V2]: {
          containerd: {
            default_runtime_name: 'nvidia',
            runtimes: { nvidia: { runtime_type: 'io.containerd.runc.v2', options: { BinaryName: NVIDIA_CONTAINER_RUNTIME, SystemdCgroup: true } } },
          },
        },
      },
    });
    const { cfg } = dump(get(gpu.name, CONTAINERD_CONFIG)!, { '99-nvidia.toml': nvidiaOnly });
    const eff = effectiveCri(cfg);
    expect(eff.defaultRuntime).toBe('nvidia');
    expect(eff.sandbox, 'sandbox_image fell back to the built-in default').not.toBe(kubeadmPause('runbook-ha'));
    expect(eff.runcSystemd, "runc's SystemdCgroup was dropped").not.toBe(true);
    expect(eff.configPath, 'config_path was dropped').not.toBe('/etc/containerd/certs.d');
  });

  it('why version-3 files need a 2.x containerd: containerd 1.x accepts `version = 3` and silently ignores its sections', () => {
    if (READABLE.includes(3)) return; // this containerd is 2.x itself
    const { view, get } = hostFiles('containerd2');
    const h = view.hosts.find((x) => !x.isGpu && (x.isControlPlane || x.isWorker))!;
    const { cfg } = dump(get(h.name, CONTAINERD_CONFIG)!, {});
    expect(cfg.version).toBe(2);
    const asV2 = cfg.plugins[CRI_V2];
    expect(asV2.sandbox_image).not.toBe(kubeadmPause('containerd2'));
    expect(asV2.containerd.runtimes.runc.options.SystemdCgroup).not.toBe(true);
  });
});

// ---- version = 3 files through a real containerd 2.x ----
// scripts/toolchain/containerd2.sh builds containerd v2.1.4 from the Go module proxy (or finds it in its cache) and
// prints the binary's path last. The build is bounded by BUILD_TIMEOUT_MS; when it fails, every test below fails.

const CONTAINERD2_VERSION = '2.1.4';
const BUILD_TIMEOUT_MS = 40 * 60_000;
const CONTAINERD2_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'toolchain', 'containerd2.sh');
let containerd2 = '';

function builtContainerd2(): string {
  if (!containerd2) throw new Error(`no containerd ${CONTAINERD2_VERSION}: ${CONTAINERD2_SCRIPT} did not succeed (see the beforeAll error)`);
  return containerd2;
}

describe(`containerd ${CONTAINERD2_VERSION} (built from the Go module proxy): effective config of every version = 3 file`, () => {
  beforeAll(async () => {
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(CONTAINERD2_SCRIPT, [], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 << 20 }));
    } catch (e) {
      const err = e as { message: string; stderr?: string };
      const tail = err.stderr?.slice(-4000) ?? '';
      throw new Error(`${CONTAINERD2_SCRIPT} failed, so no containerd 2.x checks the version = 3 files: ${err.message}\n${tail}`);
    }
    const bin = stdout.trim().split('\n').at(-1)!;
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    expect(version).toMatch(new RegExp(`\\sv${CONTAINERD2_VERSION.replaceAll('.', '\\.')}(\\s|$)`));
    containerd2 = bin;
  }, BUILD_TIMEOUT_MS + 60_000);

  it('the version = 3 fixtures are all here (containerd 2.1.4 and 2.0.6 hosts)', () => {
    const v3 = validFixtureNames().filter((n) => configVersion(loadFixture(n).spec.containerRuntime.containerd.version) === 3);
    expect(v3).toEqual(expect.arrayContaining(['containerd2', 'five-control-planes']));
  });

  checkEffectiveConfigs(3, builtContainerd2);

  it('control: a version = 3 drop-in holding ONLY the nvidia runtime is MERGED by 2.1 (the < 2.1 replacement bug is gone)', () => {
    const { view, get } = hostFiles('containerd2');
    const gpu = view.gpuHosts[0]!;
    const nvidiaOnly = hashMarker(view.name) + toToml({
      version: 3,
      plugins: {
        [CRI_V3_RUNTIME]: {
          containerd: {
            default_runtime_name: 'nvidia',
            runtimes: { nvidia: { runtime_type: 'io.containerd.runc.v2', options: { BinaryName: NVIDIA_CONTAINER_RUNTIME, SystemdCgroup: true } } },
          },
        },
      },
    });
    const main = get(gpu.name, CONTAINERD_CONFIG)!;
    // What replacement (containerd < 2.1, importReplacing) would make of it: runc's SystemdCgroup gone.
    const replaced = effectiveCri(importReplacing(parseToml(main) as T, parseToml(nvidiaOnly) as T));
    expect(replaced.runcSystemd).not.toBe(true);
    // What containerd 2.1.4 actually does: the drop-in's runtime is merged into config.toml's CRI sections.
    const { cfg, dir } = dump(main, { '99-nvidia.toml': nvidiaOnly }, true, builtContainerd2());
    expect(cfg.imports).toContain(join(dir, 'conf.d', '*.toml'));
    expect(effectiveCri(cfg)).toEqual({
      sandbox: kubeadmPause('containerd2'),
      defaultRuntime: 'nvidia',
      runcSystemd: true,
      nvidia: { runtimeType: 'io.containerd.runc.v2', binary: NVIDIA_CONTAINER_RUNTIME, systemd: true },
      configPath: '/etc/containerd/certs.d',
    });
  });

  it('negative control: without the drop-in a GPU host runs runc by default (the drop-in is what makes nvidia the default)', () => {
    const { view, get } = hostFiles('containerd2');
    const gpu = view.gpuHosts[0]!;
    const { cfg } = dump(get(gpu.name, CONTAINERD_CONFIG)!, {}, true, builtContainerd2());
    const eff = effectiveCri(cfg);
    expect(eff.defaultRuntime).toBe('runc');
    expect(eff.nvidia).toBeUndefined();
  });

  it('negative control: containerd 2.1.4 reads version = 3 sections only under their 2.x plugin ids (a v2 CRI table is ignored)', () => {
    const { view } = hostFiles('containerd2');
    // The same settings under the 1.x plugin id in a version = 3 file: 2.1.4 keeps its built-in defaults.
    const v2Table = toToml({ version: 3, plugins: criPlugins(2, criSettings(view, false)) });
    expect(v2Table).toContain('version = 3');
    const { cfg } = dump(v2Table, {}, false, builtContainerd2());
    const eff = effectiveCri(cfg);
    expect(eff.sandbox).not.toBe(kubeadmPause('containerd2'));
    expect(eff.runcSystemd).not.toBe(true);
  });
});

// ---- hosts.toml through containerd's own resolver ----
// A containerd daemon in temp dirs (CRI disabled; it only serves ctr's content store) and a fake HTTPS registry on
// 127.0.0.1 with its own CA. `ctr images pull --hosts-dir` resolves through the same code the CRI plugin uses for
// config_path. The registry answers 404 to everything and records what was asked: the request path proves
// override_path and the name mapping; that any request arrives proves the `ca` line (TLS is verified).
// Every `server = <upstream>` line is rewritten to a closed loopback port, so the fallback after the 404 never
// leaves this machine.

const CLOSED_LOOPBACK = 'https://127.0.0.1:1';

interface FakeRegistry {
  port: number;
  requests: string[];
  tlsErrors: number;
  close(): Promise<void>;
}

async function startRegistry(dir: string): Promise<FakeRegistry> {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.pem'),
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 30_000 });
  const requests: string[] = [];
  const state = { tlsErrors: 0 };
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.pem')) }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"fake registry"}]}');
  });
  server.on('tlsClientError', () => state.tlsErrors++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get tlsErrors() {
      return state.tlsErrors;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startContainerd(dir: string): Promise<{ socket: string; proc: ChildProcess }> {
  const socket = join(dir, 'containerd.sock');
  const config = [
    'version = 2',
    `root = ${JSON.stringify(join(dir, 'root'))}`,
    `state = ${JSON.stringify(join(dir, 'state'))}`,
    `disabled_plugins = [${JSON.stringify(CRI_V2)}]`,
    '[grpc]',
    `  address = ${JSON.stringify(socket)}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
  ].join('\n');
  writeFileSync(join(dir, 'daemon.toml'), `${config}\n`);
  const proc = spawn('containerd', ['--config', join(dir, 'daemon.toml')], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await execFileAsync('ctr', ['--address', socket, 'version'], { timeout: 5_000 });
      return { socket, proc };
    } catch (e) {
      if (Date.now() > deadline || proc.exitCode !== null) {
        proc.kill('SIGTERM');
        throw new Error(`containerd daemon did not come up: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Writes the rendered certs.d of one host under dir, every upstream `server` rewritten to a closed loopback port. */
function writeCertsD(dir: string, files: { path: string; content: string }[]): string {
  const root = join(dir, 'certs.d');
  for (const f of files.filter((x) => x.path.startsWith('/etc/containerd/certs.d/'))) {
    const ns = f.path.split('/')[4]!;
    let text = f.content;
    if (MIRRORED_REGISTRIES.includes(ns)) {
      const line = `server = ${JSON.stringify(upstreamServer(ns))}`;
      expect(text.split('\n'), `${f.path} has its upstream server line`).toContain(line);
      text = text.replace(line, `server = ${JSON.stringify(CLOSED_LOOPBACK)}`);
    }
    mkdirSync(join(root, ns), { recursive: true });
    writeFileSync(join(root, ns, 'hosts.toml'), text);
  }
  return root;
}

describe(`containerd ${INSTALLED}: image pulls resolve through the rendered hosts.toml`, () => {
  const dir = join(scratch, 'resolve');
  let registry: FakeRegistry;
  let daemon: { socket: string; proc: ChildProcess };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    registry = await startRegistry(dir);
    daemon = await startContainerd(dir);
  }, 60_000);

  afterAll(async () => {
    if (daemon) {
      const exited = new Promise((r) => daemon.proc.once('exit', r));
      daemon.proc.kill('SIGTERM');
      await exited;
    }
    await registry?.close();
  });

  /** Render the private-registry fixture against the fake registry (with /k8s path and its CA, or variants). */
  function certsFor(name: string, mutate: (s: ClusterSpec) => void): string {
    const spec = structuredClone(loadFixture('private-registry'));
    spec.spec.offline.registry = `127.0.0.1:${registry.port}/k8s`;
    spec.spec.offline.registryCAFile = join(dir, 'ca.pem');
    mutate(spec);
    const files = renderView(deriveView(spec), testInputs(), [containerdGenerator]).filter((f) => f.kind === 'host' && f.host === 'master1');
    return writeCertsD(join(dir, name), files as { path: string; content: string }[]);
  }

  async function pull(hostsDir: string, image: string): Promise<string[]> {
    const before = registry.requests.length;
    await expect(execFileAsync('ctr', ['--address', daemon.socket, 'images', 'pull', '--hosts-dir', hostsDir, image], { timeout: 30_000 })).rejects.toThrow();
    return registry.requests.slice(before);
  }

  // Fully qualified: ctr does not normalise short names (CRI turns nginx:1.27 into docker.io/library/nginx:1.27).
  const images = ['docker.io/calico/node:v3.27.0', 'docker.io/library/nginx:1.27', 'registry.k8s.io/kube-apiserver:v1.34.3', 'nvcr.io/nvidia/gpu-operator:v25.10.1', 'quay.io/prometheus/prometheus:v3.0.0', 'ghcr.io/example/app:1.0.0', 'gcr.io/example/app:1.0.0'];

  it('every mirrored upstream: containerd asks the registry for /v2/k8s/<path> (override_path), verified by the CA', async () => {
    const hostsDir = certsFor('with-ca', () => {});
    const registryName = `127.0.0.1:${registry.port}/k8s`;
    for (const image of images) {
      const up = parseImage(image);
      const mirrored = parseImage(resolveImage(image, registryName));
      const seen = await pull(hostsDir, image);
      expect(seen, image).toContain(`HEAD /v2/${mirrored.path}/manifests/${mirrored.tag}?ns=${up.host}`);
    }
    expect(new Set(images.map((i) => parseImage(i).host))).toEqual(new Set(MIRRORED_REGISTRIES));
  });

  it('images named by the registry itself (kubeadm imageRepository, pause) go to it with the CA', async () => {
    const hostsDir = certsFor('own', () => {});
    const pause = pauseImage('v1.34.3', `127.0.0.1:${registry.port}/k8s`);
    const seen = await pull(hostsDir, pause);
    expect(seen).toContain(`HEAD /v2/k8s/pause/manifests/${parseImage(pause).tag}`);
  });

  it('negative control: the registry’s own hosts.toml without its [host] table is rejected by containerd 1.6', async () => {
    if (!INSTALLED.startsWith('1.6.')) return; // later releases may accept it; the [host] table is harmless there
    const hostsDir = certsFor('no-host-table', () => {});
    const f = join(hostsDir, `127.0.0.1:${registry.port}`, 'hosts.toml');
    const own = parseToml(readFileSync(f, 'utf8')) as T;
    // The same root settings (server + ca), minus the [host] table: 1.6 logs "invalid `host` tree" and ignores the file.
    writeFileSync(f, `server = ${JSON.stringify(own.server)}\nca = ${JSON.stringify(own.ca)}\n`);
    const pause = pauseImage('v1.34.3', `127.0.0.1:${registry.port}/k8s`);
    expect(await pull(hostsDir, pause)).toEqual([]);
  });

  it('negative control: without the CA line the TLS handshake fails and nothing reaches the registry', async () => {
    const hostsDir = certsFor('no-ca', (s) => {
      delete s.spec.offline.registryCAFile;
    });
    const errorsBefore = registry.tlsErrors;
    const seen = await pull(hostsDir, 'docker.io/calico/node:v3.27.0');
    expect(seen).toEqual([]);
    expect(registry.tlsErrors).toBeGreaterThan(errorsBefore);
  });

  it('negative control: without override_path containerd would ask for /k8s/v2/..., which the registry does not serve', async () => {
    const hostsDir = certsFor('no-override', () => {});
    const f = join(hostsDir, 'quay.io', 'hosts.toml');
    const text = readFileSync(f, 'utf8');
    expect(text).toContain('override_path = true');
    // What the URL would need without override_path: the path before /v2. Written by hand to show the difference.
    writeFileSync(f, text.replace('override_path = true\n', '').replace(`/v2/k8s"]`, `/k8s"]`));
    const seen = await pull(hostsDir, 'quay.io/prometheus/prometheus:v3.0.0');
    expect(seen).toContain('HEAD /k8s/v2/prometheus/prometheus/manifests/v3.0.0?ns=quay.io');
  });
});
