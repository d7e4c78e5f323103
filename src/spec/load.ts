// parseSpec: text (YAML or JSON) or an object -> validated, defaulted spec + warnings, or every issue found.
// Loading is strict: unknown fields are errors; YAML aliases, non-JSON types and oversized documents are refused
// before zod sees anything.
import yaml from 'js-yaml';
import type { z } from 'zod';
import { API_VERSION, Cluster, type ClusterSpec } from './schema.js';
import { formatPath, issue, type PathSegment, type SpecIssue } from './issues.js';
import { crossFieldChecks } from './validate.js';

/** A valid spec with its warnings, or every issue found (each with its path) and the warnings. */
export type ParseResult =
  | {
      ok: true;
      spec: ClusterSpec;
      warnings: SpecIssue[];
      /** the input as data: the text as parsed (YAML comments and formatting dropped), or the object given */
      document: unknown;
    }
  | { ok: false; issues: SpecIssue[]; warnings: SpecIssue[] };

/** Specs larger than this (1 MiB) are refused with the code too_large. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** Nesting deeper than this is refused, YAML or JSON, with the code too_deep (the API answers 422). */
export const MAX_DEPTH = 32;
const tooDeep = (path: PathSegment[]) => issue(path, 'too_deep', `nesting deeper than ${MAX_DEPTH} levels`);

/**
 * Parses and validates a spec: YAML or JSON text, or an object. Unknown fields are errors, defaults are filled,
 * cross-field rules checked; every problem is reported at once with its path.
 */
export function parseSpec(input: string | unknown): ParseResult {
  let doc: unknown = input;
  if (typeof input === 'string') {
    const loaded = loadText(input);
    if (!loaded.ok) return { ok: false, issues: loaded.issues, warnings: [] };
    doc = loaded.value;
  }
  const shape = checkShape(doc);
  if (shape.length > 0) return { ok: false, issues: shape, warnings: [] };

  const version = (doc as { apiVersion?: unknown } | null)?.apiVersion;
  if (typeof doc === 'object' && doc !== null && version !== undefined && version !== API_VERSION) {
    return {
      ok: false,
      issues: [issue(['apiVersion'], 'unsupported_version', `unsupported apiVersion ${JSON.stringify(String(version)).slice(0, 80)}; this release reads ${API_VERSION}`)],
      warnings: [],
    };
  }

  // reportInput: zod 4 leaves `input` off issues unless asked, and humanMessage needs it to tell "is required" from
  // "must be X, got Y" (only the input's type reaches a message, never its value).
  const parsed = Cluster.safeParse(doc, { reportInput: true });
  if (!parsed.success) {
    // every issue in one pass: the cross-field rules also run, on the parts of the spec that did parse
    const schemaIssues = zodIssues(parsed.error.issues);
    const partial = crossFieldOnValidParts(doc, parsed.error.issues);
    return { ok: false, issues: [...schemaIssues, ...partial.errors], warnings: [...partial.warnings, ...partial.skipped] };
  }

  const { errors, warnings } = crossFieldChecks(parsed.data);
  if (errors.length > 0) return { ok: false, issues: errors, warnings };
  return { ok: true, spec: parsed.data, warnings, document: doc };
}

/** Like parseSpec but throws a SpecError; for library users who prefer exceptions. */
export function loadSpec(input: string | unknown): { spec: ClusterSpec; warnings: SpecIssue[] } {
  const r = parseSpec(input);
  if (!r.ok) throw new SpecError(r.issues);
  return { spec: r.spec, warnings: r.warnings };
}

/** Thrown by {@link loadSpec} with every issue of an invalid spec. */
export class SpecError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super(`invalid cluster spec:\n${issues.map((i) => `  ${i.path || '(document)'}: ${i.message}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

function loadText(text: string): { ok: true; value: unknown } | { ok: false; issues: SpecIssue[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_SPEC_BYTES) {
    return { ok: false, issues: [issue('', 'too_large', `the spec is larger than ${MAX_SPEC_BYTES} bytes`)] };
  }
  try {
    // js-yaml stops a deeper document itself (its own bound, checked while reading): a little beyond MAX_DEPTH, so
    // that what it refuses is certainly too deep and is reported like checkShape's refusal (one limit, one code)
    const docs = yaml.loadAll(text, undefined, { schema: yaml.CORE_SCHEMA, json: false, maxDepth: MAX_DEPTH + 3 } as yaml.LoadOptions); // maxDepth: js-yaml >= 4.1.1, not in its types
    if (docs.length !== 1) {
      return { ok: false, issues: [issue('', 'document_count', `expected exactly one YAML document, found ${docs.length}`)] };
    }
    return { ok: true, value: docs[0] };
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('nesting exceeded maxDepth')) return { ok: false, issues: [tooDeep([])] };
    const msg = e instanceof Error ? e.message.split('\n')[0] ?? 'unreadable' : 'unreadable';
    return { ok: false, issues: [issue('', 'syntax', `not valid YAML or JSON: ${msg}`)] };
  }
}

/**
 * Refuse what a JSON document cannot hold and what makes parsers explode: shared references (YAML aliases), depth
 * beyond MAX_DEPTH, non-plain objects. An alias bomb expands to an exponential tree of shared nodes; we stop at the
 * first node seen twice.
 */
function checkShape(doc: unknown): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (issues.length > 0) return;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) issues.push(issue(path, 'invalid_number', 'numbers must be finite'));
      return;
    }
    if (typeof v !== 'object') {
      issues.push(issue(path, 'invalid_type', `unsupported value of type ${typeof v}`));
      return;
    }
    if (path.length > MAX_DEPTH) {
      issues.push(tooDeep(path));
      return;
    }
    if (seen.has(v)) {
      issues.push(issue(path, 'alias', 'YAML anchors/aliases (shared nodes) are not allowed in a cluster spec'));
      return;
    }
    seen.add(v);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        issues.push(issue(path, 'invalid_type', 'only plain mappings, lists, strings, numbers, booleans and null are allowed'));
        return;
      }
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    }
  };
  walk(doc, []);
  return issues;
}

function zodIssues(raw: readonly z.core.$ZodIssue[]): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const i of raw) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push(issue([...i.path, k], 'unknown_field', 'unknown field'));
      continue;
    }
    if (i.code === 'invalid_union' && i.errors.length > 0 && i.discriminator === undefined) {
      out.push(...zodIssues(i.errors.flat().map((n) => ({ ...n, path: [...i.path, ...n.path] }))));
      continue;
    }
    // a refinement names its own code in params.code (e.g. impossible_address); other custom checks stay `custom`
    const code = i.code === 'custom' && typeof i.params?.code === 'string' ? i.params.code : i.code;
    out.push({ path: formatPath(i.path), code, message: humanMessage(i) });
  }
  return dedupe(out);
}

function humanMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_type') {
    if (i.input === undefined) return `is required (${i.expected})`;
    return `must be ${i.expected}, got ${describe(i.input)}`;
  }
  if (i.code === 'invalid_key') return `key ${i.issues.map((n) => humanMessage(n)).join('; ')}`;
  if (i.code === 'invalid_value' && i.values.length > 1) return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (i.code === 'invalid_union' && i.discriminator !== undefined) {
    return `${i.discriminator} must be one of ${("options" in i && i.options ? i.options : []).map((o) => JSON.stringify(o)).join(', ')}`;
  }
  return i.message;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : typeof v;
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export { formatPath };

/**
 * The cross-field rules over what remains of a schema-invalid document once the invalid parts are set aside: a list
 * item with a schema error (a host, an environment, a model) is left out whole, an unknown field is dropped, any
 * other invalid field is removed (its default, if any, stands in). A rule whose finding touches a part set aside
 * (its path is that part, inside it, or above it) is not reported: its input was not what the user wrote. What was
 * set aside is named in one `checks_skipped` warning. Paths and messages keep the document's own list indices.
 */
function crossFieldOnValidParts(doc: unknown, raw: readonly z.core.$ZodIssue[]): { errors: SpecIssue[]; warnings: SpecIssue[]; skipped: SpecIssue[] } {
  const none = { errors: [], warnings: [], skipped: [] };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return none;
  const copy = structuredClone(doc) as Record<string, unknown>;
  const setAside = new Map<string, PathSegment[]>();
  const removedItems = new Map<string, number[]>(); // list path -> original indices left out
  const aside = (path: PathSegment[]) => setAside.set(formatPath(path), path);
  let issues = raw;
  for (let round = 0; round < 4 && issues.length > 0; round++) {
    const lists = new Map<string, { path: PathSegment[]; indices: Set<number> }>();
    for (const i of flatIssues(issues)) {
      const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as PathSegment[];
      const at = path.findIndex((p) => typeof p === 'number');
      if (at > 0) {
        const list = path.slice(0, at);
        const key = formatPath(list);
        const entry = lists.get(key) ?? { path: list, indices: new Set<number>() };
        entry.indices.add(path[at] as number);
        lists.set(key, entry);
        continue;
      }
      if (i.code === 'unrecognized_keys') {
        for (const k of i.keys) deleteAt(copy, [...path, k]);
        continue;
      }
      if (path.length < 2 || path[0] !== 'spec') return { ...none, skipped: [skippedAll()] };
      deleteAt(copy, path);
      aside(path);
    }
    for (const { path, indices } of lists.values()) {
      const arr = getAt(copy, path);
      if (!Array.isArray(arr)) return { ...none, skipped: [skippedAll()] };
      const key = formatPath(path);
      const original = originalIndices(removedItems.get(key) ?? [], arr.length);
      for (const n of indices) if (n < arr.length) aside([...path, original[n]!]);
      removedItems.set(key, [...(removedItems.get(key) ?? []), ...[...indices].filter((n) => n < arr.length).map((n) => original[n]!)]);
      setAt(copy, path, arr.filter((_, n) => !indices.has(n)));
    }
    const again = Cluster.safeParse(copy);
    if (again.success) {
      const { errors, warnings } = crossFieldChecks(again.data);
      const remap = (x: SpecIssue): SpecIssue => ({ ...x, path: remapIndices(x.path, removedItems), message: remapIndices(x.message, removedItems) });
      const touches = (x: SpecIssue) => [...setAside.keys()].some((a) => x.path === a || x.path.startsWith(`${a}.`) || x.path.startsWith(`${a}[`) || a.startsWith(`${x.path}.`) || a.startsWith(`${x.path}[`) || x.path === '');
      const kept = (xs: SpecIssue[]) => xs.map(remap).filter((x) => !touches(x));
      const skipped = setAside.size > 0 ? [issue('', 'checks_skipped', `cross-field checks left out ${[...setAside.keys()].join(', ')} (schema errors above); fix those and validate again for the checks that involve them`)] : [];
      return { errors: kept(errors), warnings: kept(warnings), skipped };
    }
    issues = again.error.issues;
  }
  return { ...none, skipped: [skippedAll()] };
}

const skippedAll = () => issue('', 'checks_skipped', 'the cross-field checks did not run: fix the schema errors above first');

function flatIssues(raw: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return raw.flatMap((i) => (i.code === 'invalid_union' && i.errors.length > 0 && i.discriminator === undefined ? flatIssues(i.errors.flat().map((n) => ({ ...n, path: [...i.path, ...n.path] }))) : [i]));
}

/** For a list that already lost the items at `removed` (original indices), the original index of each current item. */
function originalIndices(removed: number[], length: number): number[] {
  const out: number[] = [];
  for (let n = 0; out.length < length; n++) if (!removed.includes(n)) out.push(n);
  return out;
}

/** spec.hosts[2] in the trimmed document is spec.hosts[3] in the user's when spec.hosts[1] was left out. */
function remapIndices(text: string, removedItems: Map<string, number[]>): string {
  let out = text;
  for (const [list, removed] of removedItems) {
    const esc = list.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`${esc}\\[(\\d+)\\]`, 'g'), (_m, n: string) => `${list}[${originalIndices(removed, Number(n) + 1)[Number(n)]}]`);
  }
  return out;
}

function getAt(obj: unknown, path: PathSegment[]): unknown {
  let v = obj;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

function setAt(obj: Record<string, unknown>, path: PathSegment[], value: unknown): void {
  const parent = getAt(obj, path.slice(0, -1));
  if (parent !== null && typeof parent === 'object') (parent as Record<PropertyKey, unknown>)[path.at(-1)!] = value;
}

function deleteAt(obj: Record<string, unknown>, path: PathSegment[]): void {
  const parent = getAt(obj, path.slice(0, -1));
  if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[path.at(-1) as string];
}
