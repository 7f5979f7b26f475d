/**
 * Lingering close: an answer that ends its connection before the request body was read (an
 * upload refused with 409, a body too large, an abandoned stage) must reach the client. Node
 * closes such a connection as soon as the answer is written; with the client's unread bytes
 * still in the socket, the kernel then sends a reset instead of a clean close, and the client
 * (or HAProxy in front) may lose the answer it had not read yet. So, for those connections
 * only, Iris half-closes after the answer, reads and discards what the client still sends, and
 * closes when the client stops (its FIN) or after a bounded time, as Apache and nginx do.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a refused client may go on sending before the connection is cut anyway. */
export const LINGER_MS = 5_000;

/** The request being answered on each connection that Iris watches. */
const current = new WeakMap<Socket, IncomingMessage>();

/**
 * Called for every request: remembers it as its connection's current one and, the first time a
 * connection is seen, replaces the close Node does after a `Connection: close` answer
 * (`destroySoon`) with one that lingers while that request's body is unread.
 */
export function lingerIfBodyUnread(request: IncomingMessage, lingerMs = LINGER_MS): void {
  const socket = request.socket as Socket & { destroySoon?: () => void };
  const seen = current.has(socket);
  current.set(socket, request);
  if (seen || typeof socket.destroySoon !== 'function') return;
  const closeNow = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    const answered = current.get(socket);
    if (answered === undefined || answered.complete) closeNow();
    else linger(socket, answered, lingerMs);
  };
}

function linger(socket: Socket, request: IncomingMessage, lingerMs: number): void {
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The client finished sending: nothing unread is left, so the close is clean once the
  // answer has left.
  const close = () => (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy()));
  socket.once('end', close);
  request.once('end', close);
  // The body's reader is gone: its bytes still go through the parser and are dropped here.
  request.removeAllListeners('data');
  request.on('data', discard);
  request.resume();
  socket.end();
}

function discard(): void {}
