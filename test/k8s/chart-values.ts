// Walks a Helm values object against a real chart's values (its values.yaml and its subcharts'), so a misspelt key,
// which helm silently ignores, is found. Issues are data ({path, message}); the test decides how to report them.
// Reads the chart from disk (test-only), the walk itself is pure.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

export interface Chart {
  dir: string;
  name: string;
  version: string;
  /** the chart's own values.yaml (an empty file is {}) */
  values: Record<string, unknown>;
  /** by the key its values sit under in this chart (a dependency's alias, else its name); absent when not shipped */
  subcharts: Map<string, Chart>;
  /** keys of dependencies the chart declares but does not ship (their keys can only be checked against our defaults) */
  absentSubcharts: Set<string>;
  /** dotted paths Helm itself reads (dependency conditions such as `nfd.enabled`, `tags.<tag>`) */
  helmPaths: Set<string>;
}

interface ChartYaml {
  name: string;
  version: string;
  dependencies?: { name: string; alias?: string; condition?: string; tags?: string[] }[];
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(file: string): unknown {
  return yaml.load(readFileSync(file, 'utf8')) ?? {};
}

/** The chart at dir and every subchart it ships under charts/<name>/. */
export function loadChart(dir: string): Chart {
  const meta = readYaml(join(dir, 'Chart.yaml')) as ChartYaml;
  const values = readYaml(join(dir, 'values.yaml'));
  const subcharts = new Map<string, Chart>();
  const absentSubcharts = new Set<string>();
  const helmPaths = new Set<string>();
  for (const dep of meta.dependencies ?? []) {
    const key = dep.alias ?? dep.name;
    for (const c of (dep.condition ?? '').split(',').map((s) => s.trim()).filter(Boolean)) helmPaths.add(c);
    for (const t of dep.tags ?? []) helmPaths.add(`tags.${t}`);
    const sub = join(dir, 'charts', dep.name);
    if (existsSync(join(sub, 'Chart.yaml'))) subcharts.set(key, loadChart(sub));
    else absentSubcharts.add(key);
  }
  return { dir, name: meta.name, version: String(meta.version), values: isMap(values) ? values : {}, subcharts, absentSubcharts, helmPaths };
}

/** Helm's coalescing for defaults: b's keys over a's, maps merged deeply. */
function merge(a: unknown, b: unknown): unknown {
  if (!isMap(a) || !isMap(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
  return out;
}

/** A key under which any name is accepted, with the reason (the chart's default holds examples or nothing). */
export interface FreeForm {
  /** chart name, as in its Chart.yaml (a subchart's own name, not the key it sits under) */
  chart: string;
  /** dotted path inside that chart's values */
  path: string;
  reason: string;
}

/** A key no values.yaml declares that a template reads without a default; the test checks the line still reads it. */
export interface TemplateRead {
  chart: string;
  /** dotted path inside that chart's values */
  path: string;
  /** file relative to that chart's directory, and the 1-based line that reads the key */
  file: string;
  line: number;
  /** text the line contains (defaults to `.Values.<path>`) */
  reads?: string;
}

export interface Allowed {
  freeForm: readonly FreeForm[];
  templateReads: readonly TemplateRead[];
}

export interface Issue {
  /**
   * unknown: no values.yaml has the key; unchecked: the key is below a dependency the chart does not ship and the
   * parent's defaults for it do not have it, so nothing here can say whether it exists
   */
  kind: 'unknown' | 'unchecked';
  /** dotted path in OUR values, from the release's root (list elements as [i]) */
  path: string;
  /** the chart (or subchart) that does not know it */
  chart: string;
  message: string;
}

const join2 = (p: string, k: string) => (p ? `${p}.${k}` : k);

/**
 * Every key of `ours` the chart does not take: a key is accepted when the chart's values have it, when its parent's
 * default is an empty map or list (free-form), when it is listed as free-form or as read by a template, or when Helm
 * itself reads it (dependency conditions and tags). A key under a subchart's key is walked against the subchart's
 * values merged with the parent's defaults for it. Lists of maps are walked element-wise against the first element of
 * the default list, when it has one.
 */
export function walkValues(chart: Chart, ours: unknown, allowed: Allowed): Issue[] {
  const issues: Issue[] = [];
  walkChart(chart, ours, '', undefined, allowed, issues);
  return issues;
}

function walkChart(chart: Chart, ours: unknown, outerPath: string, parentDefaults: unknown, allowed: Allowed, issues: Issue[]): void {
  const defaults = merge(chart.values, parentDefaults);
  if (!isMap(ours)) return;
  for (const [k, v] of Object.entries(ours)) {
    const sub = chart.subcharts.get(k);
    if (sub) {
      // `enabled` and the like are Helm's: the condition path lives in the parent's namespace
      const rest = isMap(v) ? Object.fromEntries(Object.entries(v).filter(([kk]) => !chart.helmPaths.has(`${k}.${kk}`))) : v;
      walkChart(sub, rest, join2(outerPath, k), (defaults as Record<string, unknown>)[k], allowed, issues);
      continue;
    }
    if (!chart.absentSubcharts.has(k)) {
      walkKey(chart, k, v, defaults as Record<string, unknown>, '', outerPath, allowed, issues);
      continue;
    }
    const below: Issue[] = [];
    walkKey(chart, k, v, defaults as Record<string, unknown>, '', outerPath, allowed, below);
    for (const i of below) {
      issues.push({ ...i, kind: 'unchecked', message: `${i.path}: not in ${chart.name}-${chart.version}'s defaults for its subchart ${k}, which is not at hand to check against` });
    }
  }
}

function walkKey(
  chart: Chart,
  key: string,
  v: unknown,
  parentDefault: Record<string, unknown>,
  chartParentPath: string,
  outerParentPath: string,
  allowed: Allowed,
  issues: Issue[],
): void {
  const chartPath = join2(chartParentPath, key);
  const outerPath = join2(outerParentPath, key);
  if (!(key in parentDefault)) {
    if (chart.helmPaths.has(chartPath)) return;
    if (allowed.freeForm.some((f) => f.chart === chart.name && f.path === chartParentPath)) return;
    if (allowed.templateReads.some((t) => t.chart === chart.name && t.path === chartPath)) return;
    issues.push({ kind: 'unknown', path: outerPath, chart: `${chart.name}-${chart.version}`, message: `${outerPath}: no such key in ${chart.name}-${chart.version} values (at ${chartPath})` });
    return;
  }
  const d = parentDefault[key];
  if (allowed.freeForm.some((f) => f.chart === chart.name && f.path === chartPath)) return;
  if (isMap(v) && isMap(d)) {
    if (Object.keys(d).length === 0) return; // `{}`: a free-form map
    for (const [k, vv] of Object.entries(v)) walkKey(chart, k, vv, d, chartPath, outerPath, allowed, issues);
    return;
  }
  if (Array.isArray(v) && Array.isArray(d)) {
    const first = d[0];
    if (!isMap(first)) return; // `[]` or a list of scalars: nothing to walk against
    v.forEach((el, i) => {
      if (!isMap(el)) return;
      for (const [k, vv] of Object.entries(el)) walkKey(chart, k, vv, first, chartPath, `${outerPath}[${i}]`, allowed, issues);
    });
    return;
  }
  if (isMap(v) && Object.keys(v).length > 0 && !isMap(d)) {
    // a map where the chart has a scalar, null or a list: only a free-form or template-read entry vouches for it
    if (allowed.templateReads.some((t) => t.chart === chart.name && t.path === chartPath)) return;
    issues.push({ kind: 'unknown', path: outerPath, chart: `${chart.name}-${chart.version}`, message: `${outerPath}: a map where ${chart.name}-${chart.version} has ${JSON.stringify(d)} (at ${chartPath})` });
  }
}

/** Where a template-read entry no longer holds: the file or line is gone or no longer reads the key. */
export function checkTemplateRead(owner: Chart, t: TemplateRead): string | undefined {
  const file = join(owner.dir, t.file);
  if (!existsSync(file)) return `${t.chart} ${t.file}: no such file`;
  const line = readFileSync(file, 'utf8').split('\n')[t.line - 1] ?? '';
  const reads = t.reads ?? `.Values.${t.path}`;
  return line.includes(reads) ? undefined : `${t.chart} ${t.file}:${t.line} no longer contains ${reads}: ${line.trim()}`;
}

export function findChart(chart: Chart, name: string): Chart | undefined {
  if (chart.name === name) return chart;
  for (const s of chart.subcharts.values()) {
    const f = findChart(s, name);
    if (f) return f;
  }
  return undefined;
}
