/**
 * A way for the connection-level error handler to tell the request handler still reading a
 * body that the body will never complete (client stopped before Content-Length). Ending the
 * request stream instead would make Node destroy the socket, and the client would get no
 * answer at all.
 */
import type { IncomingMessage } from 'node:http';
import { Invalid } from '../domain/errors.js';

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

/** The request's Content-Length as a number; undefined when absent, Invalid when not a size. */
export function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const n = Number(header);
  if (!Number.isSafeInteger(n) || n < 0) throw new Invalid('Invalid Content-Length.');
  return n;
}

/**
 * Runs `consume` on a request whose body is image data (upload, stage) with a signal that
 * aborts as soon as the client goes away mid-body or the connection handler gives up on it.
 * On failure the reply is marked `Connection: close`: the rest of the body was not read, and
 * keep-alive must not try to drain it.
 */
export async function withBodyStream<T>(
  request: IncomingMessage,
  markClose: () => void,
  consume: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  const onClose = () => {
    if (!request.complete) abort.abort(new Invalid('Client disconnected before sending all image data.'));
  };
  request.once('close', onClose);
  const forget = onBodyAbort(request, (reason) => abort.abort(reason));
  try {
    return await consume(abort.signal);
  } catch (e) {
    markClose();
    throw e;
  } finally {
    forget();
    request.off('close', onClose);
  }
}
