// The offline bundle of an install. This release's runner does not take one yet: the plan runs as made.
import type { Plan } from '../plan/types.js';
import type { RunOptions } from '../runner/runner.js';
import type { ClusterView } from '../spec/derive.js';

export function bundleForInstall(
  _view: ClusterView,
  plan: Plan,
  _bundle: { dir: string; present: boolean },
  _dryRun: boolean,
): { plan: Plan; run: Partial<RunOptions> } {
  return { plan, run: {} };
}
