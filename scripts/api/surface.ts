// The public API surface of the package as text: for every subpath export, every exported name with its kind and
// its declaration as the .d.ts states it (signatures, members, types), comments dropped. Read from the
// declaration files, so it is what a user's compiler sees. A change to this text is a change to the API:
// `npm run api:update` rewrites api/surface.txt from dist/, and the consumer tier compares the INSTALLED package's
// surface with it (CI never rewrites it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** The surface of the package installed (or built) at `pkgDir`: one section per subpath export, names sorted. */
export function apiSurface(pkgDir: string): string {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string }> };
  const entries = Object.entries(pkg.exports)
    .filter((e): e is [string, { types: string }] => typeof e[1] !== 'string')
    .map(([sub, t]) => ({ sub, file: join(pkgDir, t.types) }))
    .sort((a, b) => (a.sub < b.sub ? -1 : 1));
  const program = ts.createProgram(
    entries.map((e) => e.file),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, types: [], noResolve: false },
  );
  const checker = program.getTypeChecker();
  const out: string[] = [];
  for (const { sub, file } of entries) {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`no declarations at ${file}`);
    const mod = checker.getSymbolAtLocation(sf);
    out.push(`## airgap-k8s${sub === '.' ? '' : sub.slice(1)}`);
    const exports = mod ? checker.getExportsOfModule(mod) : [];
    for (const sym of [...exports].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) out.push(...describe(checker, sym));
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/**
 * An exported name and its declarations as the .d.ts states them (comments dropped), indented: a changed
 * parameter, member or type shows as a changed line. Types are printed by name where the declaration names them;
 * a type only reachable through another subpath is described in that subpath's section.
 */
function describe(checker: ts.TypeChecker, exported: ts.Symbol): string[] {
  const sym = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const lines = [`  ${exported.name}`];
  for (const decl of sym.declarations ?? []) {
    const node = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
    const text = printer.printNode(ts.EmitHint.Unspecified, node, decl.getSourceFile());
    lines.push(...text.split('\n').map((l) => `    ${l}`));
  }
  return lines;
}
