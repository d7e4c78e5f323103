// What every generator takes and returns. Generators are pure: (view, inputs) -> files. No clock, randomness,
// environment, filesystem or network; secrets arrive in `inputs`.
import type { ClusterView } from '../spec/derive.js';
import type { ClusterPhase, HostPhase } from '../phases.js';
import type { HelmRelease } from './manifests/helm.js';
import type { Secrets } from '../secrets/types.js';
import type { EncryptionAlgorithm } from '../spec/schema.js';

/** Texts read from the offline bundle by the (impure) caller and transformed by pure generators. */
export interface UpstreamTexts {
  /** <bundleDir>/manifests/calico-<version>.yaml, for Calico's `manifest` mode (see manifests/calico) */
  calicoManifest?: string;
}

/**
 * What a render takes besides the spec: the cluster's secrets, texts from the offline bundle, the overlay. (Not
 * "facts": in Ansible and k0sctl those are what is observed on a host; nothing here is.)
 */
export interface RenderInputs {
  secrets: Secrets;
  /** sha256:<hex> of the CA's SubjectPublicKeyInfo, as kubeadm's --discovery-token-ca-cert-hash wants it */
  caCertHash: string;
  /**
   * The CA key's algorithm, what the cluster's keys are when the spec names none (an existing cluster keeps its
   * kind of key); undefined for a key kubeadm never makes (the secrets check refuses such a CA)
   */
  caAlgorithm: EncryptionAlgorithm | undefined;
  /** Upstream files from the bundle; absent when rendering without one (generators then say what is missing) */
  upstream?: UpstreamTexts;
  /** settings for hosts that are not real machines (./overlay.ts); absent for real hosts */
  overlay?: import('./overlay.js').OverlayName;
}

interface FileBase {
  content: string;
  /** POSIX mode, e.g. 0o644; files holding secrets are 0o600 */
  mode: number;
  /** true when the content holds a secret (never shown in API responses, logs or events) */
  secret: boolean;
  /** the generator that produced it */
  generator: string;
}

/** A file placed on one host at an absolute path. */
export interface HostFile extends FileBase {
  kind: 'host';
  host: string;
  path: string;
}

/** A cluster-level artifact (manifests, Helm values, image list), at a path relative to the output directory. */
export interface ClusterFile extends FileBase {
  kind: 'cluster';
  path: string;
}

/** A rendered file: for one host ({@link HostFile}) or for the cluster ({@link ClusterFile}). */
export type GeneratedFile = HostFile | ClusterFile;

/**
 * What a generator hands the planner: its files together with what installing them means, so the planner never
 * infers it from paths or re-reads rendered YAML. Host units go onto one host in a host phase; cluster units act on
 * the cluster through its API, ordered by the units they declare `after`.
 */
export type Unit = HostUnit | ClusterUnit;

/** Files for one host in one host phase, with the services they restart and the script they run. */
export interface HostUnit {
  kind: 'host';
  /** what it configures, e.g. containerd, haproxy; unique per host */
  name: string;
  host: string;
  phase: HostPhase;
  files: HostFile[];
  /**
   * systemd units enabled and started in this phase, and restarted when one of this unit's files changed (a timer
   * is named with its suffix, e.g. x.timer: enabling and starting it starts its schedule, not its service)
   */
  services?: string[];
  /** some of the files are systemd unit files: systemd re-reads them (daemon-reload) after any of them changed, before `services` start */
  reloadsSystemd?: boolean;
  /** a script run after the phase's files are written, and again whenever one of them changed */
  run?: { id: string; argv: string[]; description: string };
}

/** A Job a cluster unit starts, completed before anything later runs (the GPU check before the models). */
export interface JobRef {
  namespace: string;
  name: string;
}

/**
 * Files acting on the cluster through its API in one cluster phase: what is applied (manifest, Helm release or
 * nothing), after which units, the Jobs to wait for and the checks of the verify phase.
 */
export interface ClusterUnit {
  kind: 'cluster';
  /** unique among cluster units, e.g. calico, kube-prometheus-stack */
  name: string;
  phase: ClusterPhase;
  /** cluster units (by name) that must be applied first; the planner orders by these */
  after: string[];
  /** apply: the manifest at `path` (server-side apply); helm: install the release with its rendered values file;
   * none: rendered for people and the bundle (images.txt, notes), never applied */
  action: { kind: 'apply'; path: string } | { kind: 'helm'; release: HelmRelease } | { kind: 'none' };
  files: ClusterFile[];
  /** Jobs the manifest starts that must complete before the next unit */
  waitFor?: JobRef[];
  /** bundle files (bundle-relative) the manifest is made from; without them it is not rendered (the unit is kept) */
  needs?: string[];
  /** how the install's last phase checks that it works */
  verify?: UnitCheck[];
}

/** A check of the verify phase: every pod of a namespace Ready, or an HTTP endpoint answering. */
export type UnitCheck = { kind: 'pods-ready'; namespace: string } | { kind: 'http'; name: string; url: string; description: string };

/**
 * A named, pure function from a cluster's view and render inputs to units of files. The built-in ones are exported by
 * name; pass any of them to {@link renderView}.
 */
export interface Generator {
  name: string;
  /** The units of this generator for the cluster: the same view and inputs give the same units. */
  units(view: ClusterView, inputs: RenderInputs): Unit[];
}

/** A generator's files (tests, tools that want only the files). */
export function filesOf(units: readonly Unit[]): GeneratedFile[] {
  return units.flatMap((u): GeneratedFile[] => u.files);
}

/** One unit per host of a generator's host files, all in the same phase (or one chosen per host). */
export function hostUnits(
  name: string,
  files: readonly HostFile[],
  phase: HostPhase | ((host: string) => HostPhase),
  extra: Pick<HostUnit, 'services' | 'run' | 'reloadsSystemd'> | ((host: string) => Pick<HostUnit, 'services' | 'run' | 'reloadsSystemd'>) = {},
): HostUnit[] {
  const byHost = new Map<string, HostFile[]>();
  for (const f of files) {
    const list = byHost.get(f.host);
    if (list) list.push(f);
    else byHost.set(f.host, [f]);
  }
  return [...byHost].map(([host, fs]) => ({
    kind: 'host',
    name,
    host,
    phase: typeof phase === 'function' ? phase(host) : phase,
    files: fs,
    ...(typeof extra === 'function' ? extra(host) : extra),
  }));
}

/** Where a file lands under a render directory: hosts/<host>/<abs path> or the cluster file's own relative path. */
export function outputPath(f: GeneratedFile): string {
  return f.kind === 'host' ? `hosts/${f.host}${f.path}` : f.path;
}

export function hostFile(
  generator: string,
  host: string,
  path: string,
  content: string,
  opts: { mode?: number; secret?: boolean } = {},
): HostFile {
  const secret = opts.secret ?? false;
  return { kind: 'host', generator, host, path, content, mode: opts.mode ?? (secret ? 0o600 : 0o644), secret };
}

export function clusterFile(
  generator: string,
  path: string,
  content: string,
  opts: { mode?: number; secret?: boolean } = {},
): ClusterFile {
  const secret = opts.secret ?? false;
  return { kind: 'cluster', generator, path, content, mode: opts.mode ?? (secret ? 0o600 : 0o644), secret };
}
