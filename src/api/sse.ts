// Server-Sent Events for one install: replay every stored event after Last-Event-ID (or ?after=), then live ones
// as they are committed, with a comment line as heartbeat. The stream ends after the event that finishes the
// install (a terminal status), so a client knows it has everything. Replay and subscription happen in the same
// synchronous turn (SQLite reads are synchronous), so no event falls between them; the job thread commits events
// before the loop hears them, so one may come both replayed and live: it is sent once (by its seq).
import type { Jobs } from './jobs.js';
import { isTerminal, type Store, type StoredEvent } from './store.js';

const enc = new TextEncoder();

export function formatEvent(e: StoredEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function eventStream(store: Store, jobs: Jobs, id: string, after: number, heartbeatMs: number): ReadableStream<Uint8Array> {
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let last = after;
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        cleanup();
        controller.close();
      };
      const send = (e: StoredEvent, live: boolean) => {
        if (closed || e.seq <= last) return;
        last = e.seq;
        controller.enqueue(enc.encode(formatEvent(e)));
        if (live && e.type === 'status' && isTerminal(e.status)) close();
      };
      const replay = store.eventsAfter(id, after);
      const unsubscribe = jobs.subscribe(id, (e) => send(e, true));
      const heartbeat = setInterval(() => {
        if (!closed) controller.enqueue(enc.encode(': keep-alive\n\n'));
      }, heartbeatMs);
      heartbeat.unref?.();
      cleanup = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      controller.enqueue(enc.encode('retry: 2000\n\n'));
      for (const e of replay) send(e, false);
      // finished, and its last event sent (replayed); one committed since comes live and ends the stream then
      const rec = store.get(id);
      if (!rec || (isTerminal(rec.status) && last >= rec.lastSeq)) close();
    },
    cancel() {
      cleanup();
    },
  });
}
