// The resolve hook of probe.mjs: reports every resolved URL to the main thread.
let port;
export function initialize(data) {
  port = data.port;
  port.on('message', (m) => m.ping && port.postMessage({ pong: true }));
  port.unref();
}
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage({ url: r.url });
  return r;
}
