/**
 * Offers an upload's socket to the blob store (src/blob/direct-body.ts): a transfer thread may
 * then read the body straight from the descriptor, with large reads, instead of Node's HTTP
 * parser handing the event loop one 64 KiB chunk at a time.
 *
 * Only a plain TCP socket with a declared Content-Length qualifies (no TLS, no chunked framing:
 * the thread reads raw bytes and must know where the body ends). Once taken, the event loop
 * stops reading the socket and its idle timer is off (the thread watches for idleness
 * itself), and the connection closes after the answer: Node's parser never saw the body, so
 * the connection cannot carry another request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { attachDirectBody } from '../blob/direct-body.js';
import { bodyEndedEarly, bodyIdleLimitMs, bodyTimeout } from './body-abort.js';

/** The parts of libuv's TCP handle this needs (Node's internal `_handle`). */
interface StreamHandle {
  fd?: number;
  reading?: boolean;
  readStop(): number;
}

export interface SocketBodyOptions {
  /** body_idle_timeout, in seconds (0: none). */
  readonly idleSeconds: number;
  /** The connection's idle timeout once the body is in (client_socket_timeout), in ms. */
  readonly connectionIdleMs: number;
}

/** The options from the configuration (body_idle_timeout, client_socket_timeout). */
export function socketBodyOptions(config: { readonly body_idle_timeout: number; readonly DEFAULT: { readonly client_socket_timeout: number } }): SocketBodyOptions {
  return { idleSeconds: config.body_idle_timeout, connectionIdleMs: config.DEFAULT.client_socket_timeout * 1000 };
}

/** Attaches a direct body to `request` when its socket can be handed over; a no-op otherwise. */
export function offerSocketBody(request: IncomingMessage, response: ServerResponse, opts: SocketBodyOptions): void {
  const length = Number(request.headers['content-length']);
  if (request.headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(length) || length <= 0) return;
  const socket = request.socket as Socket & { _handle?: StreamHandle | null; encrypted?: boolean; _paused?: boolean; _read: (n: number) => void };
  if (socket.encrypted) return;
  const idleMs = bodyIdleLimitMs(opts.idleSeconds, opts.connectionIdleMs);
  attachDirectBody(request, {
    length,
    idleMs,
    idleError: () => bodyTimeout(idleMs / 1000),
    endedError: () => bodyEndedEarly(),
    take() {
      const handle = socket._handle;
      if (!handle || typeof handle.fd !== 'number' || handle.fd < 0 || socket.destroyed) return null;
      if (request.complete || request.readableEnded || request.readableFlowing === true || socket.readableLength > 0) return null;
      // From here on only the thread reads the socket. `_paused` is the flag Node's HTTP server
      // itself keeps a socket paused with (the request's reads do not restart it), and the
      // socket's own `_read` (through which every restart goes) waits for `release`.
      socket._paused = true;
      socket._read = holdRead;
      const head: Buffer[] = [];
      for (let chunk: Buffer | null; (chunk = request.read() as Buffer | null) !== null; ) head.push(chunk);
      handle.reading = false;
      handle.readStop();
      socket.setTimeout(0);
      response.shouldKeepAlive = false;
      return { fd: handle.fd, head };
    },
    release(complete, socketBytes) {
      countOffLoop(socket, socketBytes);
      if (complete) {
        // The whole body was read: nothing is left for a lingering close to drain, and the
        // socket stays paused until it closes after the answer.
        request.complete = true;
      } else {
        // The rest of the body (if the client still sends it) goes through the server again,
        // to be discarded by the lingering close after the error answer.
        delete (socket as { _read?: unknown })._read;
        socket._paused = false;
        const state = (socket as unknown as { _readableState?: { reading: boolean } })._readableState;
        if (state) state.reading = false;
      }
      if (!socket.destroyed) socket.setTimeout(opts.connectionIdleMs);
    },
  });
}

/** Bytes a transfer thread read from each socket, which `socket.bytesRead` misses. */
const offLoop = new WeakMap<Socket, number>();

function countOffLoop(socket: Socket, read: number): void {
  offLoop.set(socket, (offLoop.get(socket) ?? 0) + read);
}

/** What the socket carried in all, including the bytes transfer threads read (for the request metrics). */
export function socketBytesOf(socket: Socket): { read: number; written: number } {
  return { read: socket.bytesRead + (offLoop.get(socket) ?? 0), written: socket.bytesWritten };
}

/** A socket read while the thread owns the socket: left pending (`release` undoes it). */
function holdRead(): void {}
