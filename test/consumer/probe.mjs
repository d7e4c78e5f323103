// Imports one module (argv[2]) and prints, as JSON, every module that loaded: ESM URLs (a resolve hook), CommonJS
// files (require.cache) and native addons (process.dlopen). Copied into a consumer project and run there, so that
// bare specifiers resolve as the user's would.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const resolved = [];
port1.on('message', (m) => {
  if (m.url) resolved.push(m.url);
});
register('./probe-hooks.mjs', { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
const dlopen = [];
const original = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  dlopen.push(filename);
  return original.call(this, module, filename, ...rest);
};
let error;
try {
  await import(process.argv[2]);
} catch (e) {
  error = String(e?.message ?? e);
}
// every resolution reported before this round trip has arrived (one port, in order)
await new Promise((done) => {
  port1.on('message', (m) => m.pong && done());
  port1.postMessage({ ping: true });
});
const required = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify({ error, resolved, required, dlopen }));
process.exit(0);
