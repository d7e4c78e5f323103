// The bundle as the runner sees it: a local directory and its manifest, verified against the spec once per run.
// The plan's `preflight/local/bundle` step and every `upload` step go through verified(), so no host is touched
// (and nothing is uploaded) from a bundle with a single problem.
import type { ClusterView } from '../../spec/derive.js';
import type { BundleManifest } from '../manifest.js';
import type { Progress } from './scan.js';
import { BundleVerificationError, verifyBundle, type VerifyResult } from './verify.js';

/** An offline bundle as the install pipeline uses it: the directory, verified against the spec at most once. */
export interface BundleSource {
  /** the unpacked bundle on the machine running airgap-k8s */
  readonly dir: string;
  /** what the directory holds, after a complete verification; rejects with BundleVerificationError */
  verified(): Promise<BundleManifest>;
}

/** A bundle directory checked against the spec on first use (the result is kept for the rest of the run). */
export function localBundle(view: ClusterView, dir: string, opts: { onProgress?: (p: Progress) => void } = {}): BundleSource & {
  /** the whole verification, issues included (verified only once) */
  result(): Promise<VerifyResult>;
} {
  let pending: Promise<VerifyResult> | undefined;
  const result = () => (pending ??= verifyBundle(view, dir, opts));
  return {
    dir,
    result,
    async verified() {
      const r = await result();
      if (!r.ok) throw new BundleVerificationError(dir, r.issues);
      return r.actual;
    },
  };
}

/** A source over a verification already done (the CLI verifies before it connects to any host). */
export function verifiedBundle(dir: string, r: VerifyResult): BundleSource {
  return {
    dir,
    async verified() {
      if (!r.ok) throw new BundleVerificationError(dir, r.issues);
      return r.actual;
    },
  };
}
