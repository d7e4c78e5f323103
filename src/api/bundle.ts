// The offline bundle of an install, as the CLI's apply handles it: the unpacked bundle on this machine is verified
// by the plan's preflight step and uploaded by its distribute steps; a dry run without one leaves both out.
import { localBundle, withoutBundleSteps } from '../bundle/io/source.js';
import type { Plan } from '../plan/types.js';
import type { RunOptions } from '../runner/runner.js';
import type { ClusterView } from '../spec/derive.js';

export function bundleForInstall(
  view: ClusterView,
  plan: Plan,
  bundle: { dir: string; present: boolean },
  dryRun: boolean,
): { plan: Plan; run: Partial<RunOptions> } {
  if (dryRun && !bundle.present) return { plan: withoutBundleSteps(plan), run: {} };
  return { plan, run: { bundle: localBundle(view, bundle.dir) } };
}
