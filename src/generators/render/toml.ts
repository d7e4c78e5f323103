// The one TOML writer, enough for containerd's config: tables of scalars, arrays of scalars, nested tables written
// with full dotted headers. Keys sorted (order carries no meaning in TOML); keys that are not bare are quoted.

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue | undefined;
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

function scalar(v: TomlValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('TOML: non-finite number');
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`;
  throw new Error('TOML: tables are not allowed inside arrays here');
}

export function toToml(root: TomlTable): string {
  const out: string[] = [];
  const emit = (table: TomlTable, path: string[]) => {
    const keys = Object.keys(table).filter((k) => table[k] !== undefined).sort();
    const scalars = keys.filter((k) => !isTable(table[k]));
    const tables = keys.filter((k) => isTable(table[k]));
    if (path.length > 0 && (scalars.length > 0 || tables.length === 0)) {
      if (out.length > 0) out.push('');
      out.push(`[${path.map(key).join('.')}]`);
    }
    for (const k of scalars) out.push(`${path.length > 0 ? '  ' : ''}${key(k)} = ${scalar(table[k]!)}`);
    for (const k of tables) emit(table[k] as TomlTable, [...path, k]);
  };
  emit(root, []);
  return `${out.join('\n')}\n`;
}
