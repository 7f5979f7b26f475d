/**
 * A request body the blob store may read straight from its socket on a transfer thread
 * (fd-transfer.ts) instead of through the stream it is attached to. The HTTP layer attaches it
 * (it alone knows whether the socket can be handed over); the blob store takes it only when
 * the store and the put allow, and otherwise reads the stream as usual.
 */
import type { Readable } from 'node:stream';

const DIRECT_BODY: unique symbol = Symbol('iris.directBody');

/** The socket, taken from the HTTP server for the length of one transfer. */
export interface TakenBody {
  /** The socket's descriptor (non-blocking; nothing else reads it until `release`). */
  readonly fd: number;
  /** The body's first bytes, which the server had already read. */
  readonly head: readonly Buffer[];
}

export interface DirectBody {
  /** The body's length (its Content-Length). */
  readonly length: number;
  /** How long the body may go without a byte before the request is abandoned. */
  readonly idleMs: number;
  /** The error a body that stopped arriving gets (as on the streaming path). */
  idleError(): Error;
  /** The error a body whose client closed its side early gets (as on the streaming path). */
  endedError(): Error;
  /**
   * Takes the socket from the server; null when it can no longer be handed over (the stream has
   * been read from meanwhile, the socket closed), and the stream is then the way to read it.
   */
  take(): TakenBody | null;
  /**
   * Gives the socket back once the transfer thread is done with it. `complete`: the whole body
   * was read, so nothing is left for the server to read; otherwise the server discards the rest.
   * `socketBytes`: what the thread read from the socket (the server's byte counts miss them).
   */
  release(complete: boolean, socketBytes: number): void;
}

/** Attaches `body` to the stream that carries the same bytes. */
export function attachDirectBody(stream: Readable, body: DirectBody): void {
  Object.defineProperty(stream, DIRECT_BODY, { value: body, configurable: true });
}

/** The direct body attached to `stream`, if any. */
export function directBodyOf(stream: Readable): DirectBody | undefined {
  return (stream as Readable & { [DIRECT_BODY]?: DirectBody })[DIRECT_BODY];
}

