/**
 * How a request body that will never complete reaches the handler reading it: the client sent
 * malformed framing (Node's parser gave up), stopped before its Content-Length, or went quiet
 * for longer than the body idle timeout. The connection-level code calls `abortBody`; whoever
 * reads the body (an upload, a stage, a JSON body) learns of it through `onBodyAbort`, even
 * when the abort came before the handler started reading (the bad bytes may arrive with the
 * headers, while the handler is still authenticating). Ending or destroying the request stream
 * instead would make Node destroy the socket, and the client would get no answer at all.
 */
import type { IncomingMessage } from 'node:http';
import { ClientTimeout, Invalid, TooLarge } from '../domain/errors.js';

/** The client sent no byte of its body for `seconds`: what the body's reader is told (408). */
export function bodyTimeout(seconds: number): ClientTimeout {
  return new ClientTimeout(`No request data received for ${seconds} seconds; the request was abandoned.`);
}

/**
 * How long a body may go without a byte: body_idle_timeout (seconds), never longer than the
 * connection's own idle limit (client_socket_timeout, ms); 0 (either) means that limit is off,
 * and 0 from both means none.
 */
export function bodyIdleLimitMs(seconds: number, connectionIdleMs: number): number {
  const limits = [seconds * 1000, connectionIdleMs].filter((ms) => ms > 0);
  return limits.length > 0 ? Math.min(...limits) : 0;
}

/** The client closed its side before the whole Content-Length arrived: what the body's reader is told (400). */
export function bodyEndedEarly(): Invalid {
  return new Invalid('Image data is shorter than the declared Content-Length: the client stopped sending.');
}

/** The request's Content-Length as a number; undefined when absent, Invalid when not a size. */
export function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const n = Number(header);
  if (!Number.isSafeInteger(n) || n < 0) throw new Invalid('Invalid Content-Length.');
  return n;
}

/** The body-abort channel of one server: created once, in main.ts, and handed to the HTTP layer. */
export type BodyAborts = ReturnType<typeof createBodyAborts>;

/**
 * The channel between the connection-level code (which learns that a body will never complete)
 * and whoever reads that body. Per-request state lives in weak maps keyed by the request, so a
 * finished request leaves nothing behind.
 */
export function createBodyAborts() {
  const aborters = new WeakMap<IncomingMessage, (reason: Error) => void>();
  /** Aborts that came before anyone read the body: delivered when a reader registers. */
  const early = new WeakMap<IncomingMessage, Error>();

  /**
   * Registers the reader of `request`'s body; `abort` runs at most once. Returns the function
   * that unregisters it. An abort that already happened is delivered at once.
   */
  function onBodyAbort(request: IncomingMessage, abort: (reason: Error) => void): () => void {
    const already = early.get(request);
    if (already) {
      early.delete(request);
      abort(already);
      return () => {};
    }
    aborters.set(request, abort);
    return () => aborters.delete(request);
  }

  /**
   * Tells the reader of this request's body that the body will never complete. Returns true when
   * a reader was registered; otherwise the reason waits for the first reader.
   */
  function abortBody(request: IncomingMessage, reason: Error): boolean {
    const abort = aborters.get(request);
    if (!abort) {
      if (!early.has(request)) early.set(request, reason);
      return false;
    }
    aborters.delete(request);
    abort(reason);
    return true;
  }

  /**
   * Runs `consume` on a request whose body is image data (upload, stage) with a signal that
   * aborts as soon as the client goes away mid-body or the connection handler gives up on it.
   * On failure the reply is marked `Connection: close`: the rest of the body was not read, and
   * keep-alive must not try to drain it.
   */
  async function withBodyStream<T>(
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

  /**
   * Reads a whole (small) request body, at most `maxBytes`. Rejects with TooLarge past the limit,
   * with the abort reason when the connection gives up on the body, and with Invalid when the
   * client goes away. Events, not async iteration: leaving an iterator early destroys the stream
   * and with it the socket, so the client would never see the 400 or 413.
   */
  function readBody(request: IncomingMessage, maxBytes: number, tooLargeMessage: string): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      let done = false;
      let forget: () => void = () => {};
      const finish = (error: Error | null) => {
        if (done) return;
        done = true;
        forget();
        request.off('data', onData);
        request.off('end', onEnd);
        request.off('error', onError);
        request.off('close', onClose);
        if (error) {
          // Stop taking bytes for a body that is being refused; the socket closes after the answer.
          request.pause();
          reject(error);
        } else {
          resolve(Buffer.concat(chunks, total));
        }
      };
      const onData = (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) finish(new TooLarge(tooLargeMessage));
        else chunks.push(chunk);
      };
      const onEnd = () => finish(null);
      const onError = (e: Error) => finish(e);
      const onClose = () => {
        if (!request.complete) finish(new Invalid('Client disconnected before sending the whole request body.'));
      };
      forget = onBodyAbort(request, (reason) => finish(reason));
      if (done) return;
      request.on('data', onData);
      request.once('end', onEnd);
      request.once('error', onError);
      request.once('close', onClose);
      if (request.complete && request.readableEnded) finish(null);
    });
  }

  return { onBodyAbort, abortBody, withBodyStream, readBody };
}
