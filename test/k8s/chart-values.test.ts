// Every key of every Helm values file we render exists in the chart it is for (issue 17): helm ignores a misspelt
// key without a word, so a typo would ship a chart default (an image pulled from the internet, a port not exposed).
// The charts are the real upstream ones at the versions we pin, read from ../shared/upstream (never copied in).
// Needs no API server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../src/generators/index.js';
import { helmReleases } from '../../src/generators/manifests/index.js';
import { valuesPath } from '../../src/generators/manifests/helm.js';
import { deriveView } from '../../src/spec/derive.js';
import { loadFixture, ROOT, testInputs, validFixtureNames } from '../support/fixtures.js';
import { checkTemplateRead, findChart, loadChart, walkValues, type Allowed, type Chart } from './chart-values.js';

const UPSTREAM = process.env.AIRGAP_K8S_UPSTREAM ?? join(ROOT, '..', 'shared', 'upstream');

/**
 * Keys not in any values.yaml that the chart still takes. Free-form: any name is accepted below the path (the
 * chart's default holds examples, or the key is a map of arbitrary names the template passes through). Template
 * reads: the template at file:line reads the key although values.yaml does not declare it (checked below).
 */
const ALLOWED: Allowed = {
  freeForm: [],
  templateReads: [
    // values.yaml has the key only as a comment ("If version is not specified, then default is to use chart.AppVersion")
    { chart: 'gpu-operator', path: 'operator.version', file: 'templates/_helpers.tpl', line: 72 },
    { chart: 'gpu-operator', path: 'validator.version', file: 'templates/clusterpolicy.yaml', line: 72 },
    // "tag, if defined will use the given image tag, else Chart.AppVersion will be used" (a comment in values.yaml)
    { chart: 'node-feature-discovery', path: 'image.tag', file: 'templates/worker.yaml', line: 48 },
    // commented out in values.yaml ("# nodePort: 32443"); the proxy Service template reads it from .Values.proxy
    { chart: 'kong', path: 'proxy.tls.nodePort', file: 'templates/_helpers.tpl', line: 236, reads: '.tls.nodePort' },
    { chart: 'dify', path: 'service.nodePort', file: 'templates/service.yaml', line: 42 },
    { chart: 'headlamp', path: 'service.externalTrafficPolicy', file: 'templates/service.yaml', line: 18 },
  ],
};

/**
 * Keys below a dependency whose chart is not in ../shared/upstream (kube-prometheus-stack's grafana, kube-state-metrics
 * and prometheus-node-exporter: only its crds subchart is there) that the parent's defaults for it do not have: they
 * cannot be checked here. Listed so that a new one is seen; each is the subchart's documented key in its own chart.
 */
const UNCHECKED: Record<string, string[]> = {
  'kube-prometheus-stack': [
    'grafana.image',
    'grafana.initChownData',
    'grafana.service.nodePort',
    'grafana.service.type',
    'grafana.sidecar.image',
    'grafana.testFramework',
    'kube-state-metrics.image',
    'prometheus-node-exporter.image.registry',
    'prometheus-node-exporter.image.repository',
    'prometheus-node-exporter.image.tag',
  ],
};

const charts = new Map<string, Chart>();
function chartFor(name: string, version: string): Chart {
  const dir = join(UPSTREAM, 'charts', `${name}-${version}`);
  let c = charts.get(dir);
  if (!c) {
    if (!existsSync(join(dir, 'Chart.yaml'))) throw new Error(`no upstream chart ${name} ${version} at ${dir}`);
    c = loadChart(dir);
    charts.set(dir, c);
  }
  return c;
}

/** Every values file a fixture renders, walked against its chart. */
function walkFixture(fixture: string) {
  const spec = loadFixture(fixture);
  const releases = helmReleases(deriveView(spec));
  const files = renderCluster(spec, testInputs()).filter((f) => f.kind === 'cluster' && f.path.startsWith('cluster/helm/'));
  return {
    files: files.map((f) => f.path).sort(),
    releases: releases.map((r) => {
      const chart = chartFor(r.chart, r.version);
      const values = yaml.load(files.find((f) => f.path === valuesPath(r.release))?.content ?? '{}');
      return { r, chart, issues: walkValues(chart, values, ALLOWED) };
    }),
  };
}

describe('chart values', () => {
  for (const fixture of validFixtureNames()) {
    it(`${fixture}: every values key exists in its chart`, () => {
      const w = walkFixture(fixture);
      // every values file belongs to a release and every release has one
      expect(w.files).toEqual(w.releases.map(({ r }) => valuesPath(r.release)).sort());
      const problems: string[] = [];
      for (const { r, chart, issues } of w.releases) {
        expect(chart.version.replace(/^v/, '')).toBe(r.version.replace(/^v/, ''));
        const at = `${fixture}: chart ${r.chart}-${r.version}, release ${r.release}`;
        for (const i of issues.filter((x) => x.kind === 'unknown')) problems.push(`${at}: ${i.message}`);
        for (const i of issues.filter((x) => x.kind === 'unchecked' && !(UNCHECKED[r.chart] ?? []).includes(x.path))) {
          problems.push(`${at}: ${i.message} (list it in UNCHECKED after reading that chart)`);
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('every UNCHECKED entry is still set by some fixture', () => {
    const seen = new Set(validFixtureNames().flatMap((f) => walkFixture(f).releases.flatMap(({ r, issues }) => issues.map((i) => `${r.chart} ${i.path}`))));
    const stale = Object.entries(UNCHECKED).flatMap(([chart, paths]) => paths.map((p) => `${chart} ${p}`)).filter((e) => !seen.has(e));
    expect(stale).toEqual([]);
  });

  it('every template-read entry still reads its key at its line', () => {
    const ours = new Map(validFixtureNames().flatMap((f) => helmReleases(deriveView(loadFixture(f)))).map((r) => [`${r.chart}-${r.version}`, r]));
    const roots = [...ours.values()].map((r) => chartFor(r.chart, r.version));
    const problems: string[] = [];
    for (const t of ALLOWED.templateReads) {
      const owner = roots.map((c) => findChart(c, t.chart)).find((c) => c !== undefined);
      const problem = owner ? checkTemplateRead(owner, t) : `${t.chart}: none of our charts is or ships it`;
      if (problem) problems.push(problem);
    }
    expect(problems).toEqual([]);
  });
});

describe('the walker bites', () => {
  const fixture = 'runbook-ha';
  const rendered = () => {
    const spec = loadFixture(fixture);
    const files = renderCluster(spec, testInputs());
    const values = (release: string) => yaml.load(files.find((f) => f.path === valuesPath(release))!.content) as Record<string, Record<string, unknown>>;
    const chart = (release: string) => {
      const r = helmReleases(deriveView(spec)).find((x) => x.release === release)!;
      return chartFor(r.chart, r.version);
    };
    return { values, chart };
  };

  it('reports a misspelt top-level key and nothing else', () => {
    const { values, chart } = rendered();
    const v = values('gpu-operator');
    expect(walkValues(chart('gpu-operator'), v, ALLOWED)).toEqual([]);
    v.devicePlugn = { enabled: true };
    expect(walkValues(chart('gpu-operator'), v, ALLOWED).map((i) => i.path)).toEqual(['devicePlugn']);
  });

  it('reports a renamed nested key, in the parent chart and in a subchart', () => {
    const { values, chart } = rendered();
    const v = values('kubernetes-dashboard');
    const kong = v.kong as { proxy: { tls: Record<string, unknown> } };
    kong.proxy.tls.nodeport = kong.proxy.tls.nodePort;
    delete kong.proxy.tls.nodePort;
    const web = v.web as { image: Record<string, unknown> };
    web.image.tags = web.image.tag;
    delete web.image.tag;
    expect(walkValues(chart('kubernetes-dashboard'), v, ALLOWED).map((i) => i.path).sort()).toEqual(['kong.proxy.tls.nodeport', 'web.image.tags']);
  });

  it('walks a subchart of a subchart and list elements', () => {
    const { values, chart } = rendered();
    const v = values('dify');
    (v.redis as Record<string, unknown>).architectur = 'standalone';
    (v.api as { extraEnv: Record<string, unknown>[] }).extraEnv[0]!.valu = 'x';
    expect(walkValues(chart('dify'), v, ALLOWED).map((i) => i.path).sort()).toEqual(['api.extraEnv[0].valu', 'redis.architectur']);
  });

  it('accepts any name under an empty-map default, and reports a key below an absent subchart as unchecked', () => {
    const { values, chart } = rendered();
    const v = values('gpu-operator');
    v.daemonsets = { labels: { 'example.com/any-name': 'x' } };
    expect(walkValues(chart('gpu-operator'), v, ALLOWED)).toEqual([]);
    const m = values('monitoring');
    (m.grafana as Record<string, unknown>).imag = { tag: 'x' };
    expect(walkValues(chart('monitoring'), m, ALLOWED).filter((i) => !(UNCHECKED['kube-prometheus-stack'] ?? []).includes(i.path))).toMatchObject([
      { kind: 'unchecked', path: 'grafana.imag' },
    ]);
  });

  it('a template-read entry whose line no longer reads the key fails', () => {
    const { chart } = rendered();
    const gpu = chart('gpu-operator');
    expect(checkTemplateRead(gpu, { chart: 'gpu-operator', path: 'operator.version', file: 'templates/_helpers.tpl', line: 72 })).toBeUndefined();
    expect(checkTemplateRead(gpu, { chart: 'gpu-operator', path: 'operator.version', file: 'templates/_helpers.tpl', line: 71 })).toMatch(/no longer contains \.Values\.operator\.version/);
  });
});
