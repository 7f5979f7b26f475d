/**
 * A way for the connection-level error handler to tell the request handler still reading a
 * body that the body will never complete (client stopped before Content-Length). Ending the
 * request stream instead would make Node destroy the socket, and the client would get no
 * answer at all.
 */
import type { IncomingMessage } from 'node:http';

const aborters = new WeakMap<IncomingMessage, (reason: Error) => void>();

export function onBodyAbort(request: IncomingMessage, abort: (reason: Error) => void): () => void {
  aborters.set(request, abort);
  return () => aborters.delete(request);
}

/** Returns true when a handler was reading this request's body and has been told. */
export function abortBody(request: IncomingMessage, reason: Error): boolean {
  const abort = aborters.get(request);
  if (!abort) return false;
  aborters.delete(request);
  abort(reason);
  return true;
}
