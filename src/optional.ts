// The optional dependencies: what only some uses of the package need (the REST service, the SSH and kind
// executors). They are optional peer dependencies in package.json, so installing airgap-k8s to render files
// compiles nothing (ssh2's cpu-features and better-sqlite3 are native); the code that needs one loads it on first
// use, and its absence becomes one error naming what to install, not a stack trace from the module loader.
import { createRequire } from 'node:module';

/** The optional dependencies, with the range package.json asks for (kept equal by test/unit/package.test.ts). */
export const OPTIONAL_DEPENDENCIES = {
  'better-sqlite3': '^12.11.1',
  hono: '^4.13.19',
  '@hono/node-server': '^2.1.9',
  '@hono/zod-openapi': '^1.6.3',
  ssh2: '^1.17.0',
  testcontainers: '^11.14.0',
} as const;

/** A name of {@link OPTIONAL_DEPENDENCIES}. */
export type OptionalDependency = keyof typeof OPTIONAL_DEPENDENCIES;

/** What each use of the package needs beyond its own dependencies. */
export const FEATURE_DEPENDENCIES = {
  'the REST service (airgap-k8s serve, airgap-k8s/api)': ['better-sqlite3', 'hono', '@hono/node-server', '@hono/zod-openapi'],
  'the SSH executor': ['ssh2'],
  'the kind executor and rehearse': ['testcontainers'],
} as const satisfies Record<string, readonly OptionalDependency[]>;

/** A use of the package whose optional dependencies are listed in {@link FEATURE_DEPENDENCIES}. */
export type Feature = keyof typeof FEATURE_DEPENDENCIES;

/**
 * An optional dependency a feature needs is not installed. The message names the feature, the missing packages and
 * the one npm command that installs all the feature needs.
 */
export class MissingDependencyError extends Error {
  constructor(
    /** the use that needs them */
    readonly feature: Feature,
    /** the packages that could not be loaded */
    readonly missing: readonly OptionalDependency[],
    options?: { cause?: unknown },
  ) {
    const all = FEATURE_DEPENDENCIES[feature].map((d) => `${d}@${OPTIONAL_DEPENDENCIES[d]}`);
    super(
      `${feature} needs the optional dependenc${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}, not installed; ` +
        `install ${all.length === 1 ? 'it' : 'them'} beside airgap-k8s: npm install ${all.map((a) => `'${a}'`).join(' ')}`,
      options,
    );
    this.name = 'MissingDependencyError';
  }
}

/**
 * The optional dependency a module-not-found error is about, when it is one of ours: Node says "Cannot find
 * package 'X'" (ESM) or "Cannot find module 'X'" (require), X possibly followed by a subpath.
 */
function missingOptional(e: unknown, feature: Feature): OptionalDependency | undefined {
  const err = e as NodeJS.ErrnoException;
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') return undefined;
  return FEATURE_DEPENDENCIES[feature].find((d) => new RegExp(`Cannot find (package|module) '${d.replace(/[/.]/g, '\\$&')}(/[^']*)?'`).test(err.message));
}

/**
 * Runs a dynamic import that (directly or through our own modules) loads a feature's optional dependencies; a
 * missing one becomes a {@link MissingDependencyError}, anything else is rethrown as it is.
 */
export async function importForFeature<T>(feature: Feature, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const missing = missingOptional(e, feature);
    if (missing) throw new MissingDependencyError(feature, [missing], { cause: e });
    throw e;
  }
}

/** `require` of a CommonJS optional dependency for code that must stay synchronous (SQLite's Database). */
export function requireForFeature<T>(feature: Feature, name: OptionalDependency): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (e) {
    if (missingOptional(e, feature) === name) throw new MissingDependencyError(feature, [name], { cause: e });
    throw e;
  }
}
