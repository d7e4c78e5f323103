// The install plan is data: phases of steps, each step for one host (or the cluster, run on the first control
// plane), with an idempotency probe, a timeout and a retry policy. It can be printed, golden-tested, diffed,
// stored and resumed. Step payloads never contain secrets: files are referenced by output path and sha256.
import type { Overlay } from '../generators/overlay.js';
import type { PackageRef } from '../bundle/packages.js';
import type { PackageManager } from '../os/profiles.js';

export { PHASES, type PhaseName, type HostPhase, type ClusterPhase } from '../phases.js';
import type { PhaseName } from '../phases.js';

/** How the runner decides a step is already done (skip) before running it. */
export type Probe =
  /** the file exists with this sha256 and mode */
  | { kind: 'file'; path: string; sha256: string; mode: number }
  /** every package is installed (rpm -q / dpkg-query) */
  | { kind: 'packages'; manager: PackageManager; packages: PackageRef[] }
  /** the unit is active (and enabled) */
  | { kind: 'service-active'; unit: string }
  /** argv exits 0 */
  | { kind: 'command'; argv: string[] }
  /** `kubectl diff --server-side` of the rendered file reports no difference */
  | { kind: 'kube-diff'; source: string }
  /** the host holds every bundle file below localPath with its sha256 (bundle.yaml), and nothing unlisted */
  | { kind: 'bundle-files'; localPath: string; remotePath: string };

/** How often a failing step is tried and the first backoff. */
export interface Retry {
  attempts: number;
  /** first backoff; doubles per attempt */
  backoffMs: number;
}

/** What every step has: id, phase, host, description, timeout, retries and the probe that shows it done. */
export interface StepBase {
  /** stable across runs for the same spec: phase/host/what */
  id: string;
  phase: PhaseName;
  /** host name, or null for cluster steps (run on the first control plane with the admin kubeconfig) */
  host: string | null;
  description: string;
  timeoutMs: number;
  retry: Retry;
  probe?: Probe;
  /**
   * Handler semantics (like Ansible's notify): when one of these steps changed something in this run, this step
   * runs regardless of its probe; when none did and there is no probe, it is skipped.
   */
  onChangeOf?: string[];
  /** a check that changes nothing on the host: runs every time, never counts as a change */
  readOnly?: boolean;
  /**
   * Bundle files (bundle-relative) this step's file is made from, e.g. Calico's calico.yaml. The step is in every
   * plan; without the bundle its sha256 is unknown (absent) and only a dry run may start, skipping it.
   */
  needs?: string[];
  /**
   * Destroys something that a rerun cannot bring back (drains a node, resets a host, removes an etcd member,
   * replaces etcd's data): never run unless the user confirmed (`--yes`, `confirm=true`); plans name every one.
   */
  destructive?: boolean;
}

/**
 * One thing the runner does on one host (or on the cluster): write a file, run a command, restart a service, apply a
 * manifest, install a Helm release, upload a bundle path and so on, told apart by `kind`.
 */
export type Step = StepBase &
  (
    | {
        kind: 'write-file';
        /** output path of the rendered file (hosts/<host>/<path>), resolved by the runner from the render */
        source: string;
        path: string;
        sha256: string;
        mode: number;
        secret: boolean;
      }
    | {
        /**
         * Part of the offline bundle from the machine running airgap-k8s to the host: a bundle file or directory
         * (every bundle.yaml entry below it), resumable, verified with sha256 on the host (src/bundle/io/distribute.ts)
         */
        kind: 'upload';
        /** bundle-relative path: packages/rhel8/kubernetes, images, charts/dify-0.37.0.tgz */
        localPath: string;
        remotePath: string;
        sha256?: string;
      }
    | {
        /** the local bundle is complete for the spec and intact (src/bundle/io/verify.ts); touches no host */
        kind: 'verify-bundle';
      }
    | {
        /** image archives on the host imported into a scratch containerd namespace, tagged and pushed to the registry */
        kind: 'push-images';
        archives: string;
        images: { source: string; target: string }[];
        registry: string;
        /** skip TLS verification (offline.registryInsecure), falling back to plain HTTP */
        insecure: boolean;
        caFile?: string;
      }
    | {
        kind: 'install-packages';
        manager: PackageManager;
        /** directory on the host holding the package files (inside the unpacked bundle) */
        dir: string;
        packages: PackageRef[];
      }
    | {
        kind: 'import-images';
        /** image archives on the host, imported with ctr -n k8s.io images import */
        archives: string[];
        images: string[];
      }
    | {
        kind: 'systemd';
        /** the unit acted on; '' for daemon-reload, which acts on all of them */
        unit: string;
        action: 'enable-now' | 'restart' | 'daemon-reload';
      }
    | { kind: 'exec'; argv: string[] }
    | {
        /** a file on the host brought back to this machine (`to`, written atomically), its sha256 taken on the host and checked here */
        kind: 'fetch-file';
        path: string;
        to: string;
      }
    | {
        /** a file of this machine (`from`, with this sha256) put on the host, atomically, checked by its sha256 */
        kind: 'push-file';
        from: string;
        path: string;
        sha256: string;
        mode: number;
      }
    | { kind: 'wait-for'; argv: string[]; intervalMs: number }
    | { kind: 'kube-apply'; source: string; /** absent while the file's `needs` are not here */ sha256?: string }
    | {
        kind: 'helm-install';
        release: string;
        namespace: string;
        /** chart archive on the first control plane (inside the unpacked bundle) */
        chart: string;
        version: string;
        /** output path of the rendered values file */
        values: string;
        sha256: string;
      }
  );

/** The kinds of step. */
export type StepKind = Step['kind'];

/** A phase of the plan: its steps, hosts in parallel unless `serial`. */
export interface Phase {
  name: PhaseName;
  /** hosts within a phase run in parallel unless serial (etcd members join one at a time) */
  serial: boolean;
  /**
   * Every step alone, in plan order, whatever its host: a node's removal drains it (cluster), resets the host,
   * then deletes it (cluster). Implies serial.
   */
  ordered?: boolean;
  steps: Step[];
}

/**
 * The install (or day-two) plan as data: the cluster's name, the overlay if any, the phases in order. Print it with
 * {@link formatPlan}; run it with `runPlan` (`airgap-k8s/runner`).
 */
export interface Plan {
  cluster: string;
  /** settings applied on top of what real hosts get (src/generators/overlay.ts); absent for real hosts */
  overlay?: Overlay;
  phases: Phase[];
}
