// Requests in turns: `GET /healthz` is answered as soon as it is read, every other request waits for its turn, one
// per turn of the event loop. A burst (50 POST /clusters at once, most of them refused with 429) used to be handled
// in one go, every request's middleware, admission and answer in a row, and a liveness probe that arrived with it
// waited for all of them (issue 13: /healthz p99 27-35 ms during the bench's burst, goal 20). Now each turn handles one
// waiting request and then lets the loop read the sockets again, so a probe is never behind more than one.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** True for the liveness probe: GET /healthz, with or without a query. */
const isLiveness = (req: IncomingMessage) => req.method === 'GET' && /^\/healthz(?:\?|$)/.test(req.url ?? '');

/** Wraps a request listener: liveness at once, everything else one request per turn of the loop, in arrival order. */
export function livenessFirst(handle: RequestListener): RequestListener<typeof IncomingMessage, typeof ServerResponse> {
  const waiting: [IncomingMessage, ServerResponse][] = [];
  let scheduled = false;
  const next = () => {
    const item = waiting.shift()!;
    // the next one after the loop has polled again (an immediate set in this phase runs in the next turn)
    if (waiting.length > 0) setImmediate(next);
    else scheduled = false;
    handle(item[0], item[1]);
  };
  return (req, res) => {
    if (isLiveness(req)) return handle(req, res);
    waiting.push([req, res]);
    if (!scheduled) {
      scheduled = true;
      setImmediate(next);
    }
  };
}
