// User-facing problems are data: a path into the spec, a machine-readable code and a message. Formatting is separate.

/** Whether an issue refuses the spec or only warns. */
export type Severity = 'error' | 'warning';

/** One problem with a document: its path, a stable code and a message a user can act on. */
export interface SpecIssue {
  /** Dotted path with [i] indexes, e.g. spec.hosts[1].address; '' for the whole document. */
  path: string;
  code: string;
  message: string;
}

/** One step of an issue's path: a key or an array index. */
export type PathSegment = string | number | symbol;

/** A path as text: `spec.hosts[1].address` (keys that are not identifiers quoted). */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

/** One issue per line, `path: message`, as the CLI prints them. */
export function formatIssues(issues: readonly SpecIssue[]): string {
  return issues.map((i) => `${i.path || '(document)'}: ${i.message}`).join('\n');
}

export function issue(path: readonly PathSegment[] | string, code: string, message: string): SpecIssue {
  return { path: typeof path === 'string' ? path : formatPath(path), code, message };
}
