// Starting a worker thread on a module of this package: the one place that knows how. From the built package (dist/,
// .js) the thread runs the module natively; from the TypeScript sources (tsx, vitest) it registers tsx first, then
// imports the .ts module (Node 20 does not apply module hooks given in a Worker's execArgv, nodejs/node#47747, so
// `--import tsx` there is not enough).
import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module `name` (without extension) next to the module at `besideUrl` (its
 * import.meta.url), with the extension that module has: .js in the built package, .ts from the sources.
 */
export function startModuleThread(besideUrl: string, name: string, workerData?: unknown): Worker {
  const ts = besideUrl.endsWith('.ts');
  const entry = new URL(`./${name}.${ts ? 'ts' : 'js'}`, besideUrl);
  if (!ts) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData });
}
