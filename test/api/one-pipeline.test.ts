// One install pipeline (src/install): for every valid fixture, `airgap-k8s plan --json` (the CLI, in-process), the
// plan of `POST /clusters?dryRun=true` (the API) and the golden plan are the same, with the bundle's inputs here
// and without them. Both sides use the TEST-ONLY secrets the goldens are made with; the "bundle" holds only what the
// render reads (Calico's calico.yaml, the excerpt the goldens use).
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands.js';
import { capture } from '../support/capture.js';
import { formatPlan } from '../../src/plan/format.js';
import type { Plan, Step } from '../../src/plan/types.js';
import { deriveView } from '../../src/spec/derive.js';
import { FIXTURES, GOLDEN, loadFixture, renderInputsOnlyBundle, validFixtureNames } from '../support/fixtures.js';
import { harness, type Harness } from './harness.js';

async function cli(fixture: string, bundleDir: string): Promise<{ plan: Plan; err: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'one-pipeline-'));
  copyFileSync(join(FIXTURES, 'secrets', 'test-secrets.yaml'), join(cwd, 'secrets.yaml'));
  const io = capture(cwd);
  const code = await run(['plan', join(FIXTURES, `valid-${fixture}.yaml`), '--json', '--secrets', 'secrets.yaml', '--bundle', bundleDir], io);
  expect(code, io.err).toBe(0);
  return { plan: JSON.parse(io.out) as Plan, err: io.err };
}

async function api(h: Harness, fixture: string): Promise<Plan> {
  const r = await h.post('/clusters?dryRun=true', readFileSync(join(FIXTURES, `valid-${fixture}.yaml`), 'utf8'));
  expect(r.status, await r.clone().text()).toBe(202);
  const { id } = (await r.json()) as { id: string };
  await h.jobs.idle();
  return (await (await h.req(`/clusters/${id}/plan`)).json()) as Plan;
}

/** What does not depend on the bundle's texts: every step without the checksums of files made from them. */
const shape = (p: Plan) => p.phases.flatMap((ph) => ph.steps.map((s: Step) => (s.needs ? { ...s, sha256: undefined } : s)));

describe('one pipeline: CLI plan, API plan and golden plan agree', () => {
  const open: Harness[] = [];
  afterAll(async () => {
    for (const h of open) await h.close();
  });
  const names = validFixtureNames();
  const clusters = names.map((n) => loadFixture(n).metadata.name);

  for (const fixture of names) {
    it(`${fixture}: the same plan through the CLI, the API and the golden file; the same steps without the bundle`, async () => {
      const view = deriveView(loadFixture(fixture));
      const bundle = renderInputsOnlyBundle(view);
      const golden = readFileSync(join(GOLDEN, fixture, 'plan.txt'), 'utf8');

      const withCli = await cli(fixture, bundle);
      const withApi = await (async () => {
        const h = harness({ seedSecrets: clusters, bundleDir: bundle });
        open.push(h);
        return api(h, fixture);
      })();
      expect(formatPlan(withCli.plan)).toBe(golden);
      expect(formatPlan(withApi)).toBe(golden);
      expect(withApi).toEqual(withCli.plan);

      const none = join(bundle, 'not-here');
      const withoutCli = await cli(fixture, none);
      expect(withoutCli.err).toContain(`note: no offline bundle at ${none}`);
      const withoutApi = await (async () => {
        const h = harness({ seedSecrets: clusters, bundleDir: none });
        open.push(h);
        return api(h, fixture);
      })();
      expect(shape(withoutCli.plan)).toEqual(shape(withCli.plan));
      expect(withoutApi).toEqual(withoutCli.plan);
      // the steps made from the bundle say so, with or without it
      const needing = shape(withoutCli.plan).filter((s) => s.needs).map((s) => s.id);
      expect(needing).toEqual(view.cluster.spec.addons.cni.calico.mode === 'manifest' ? ['cni/cluster/apply/10-calico'] : []);
    });
  }
});
