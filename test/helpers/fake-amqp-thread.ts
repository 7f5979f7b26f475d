/**
 * A notification thread without a broker, for the main thread's side (threaded-transport.ts):
 * the real thread code (serveThread) over a transport that confirms each message at once, except
 * event types the tests use to steer it:
 * - `test.hold`: kept queued until a `test.release` arrives (or the transport closes, which
 *   confirms what it holds: a flush);
 * - `test.crash`: the thread throws (an uncaught error ends it).
 */
import { serveThread } from '../../src/notify/amqp-thread.js';
import type { AmqpTransport, AmqpTransportOptions, MessageLabel } from '../../src/notify/amqp-transport.js';

function fakeTransport(opts: AmqpTransportOptions): AmqpTransport {
  let sent = 0;
  let held: MessageLabel[] = [];
  const stats = () => ({ sent, dropped: 0, queued: held.length, connected: true });
  setImmediate(() => {
    opts.logger.info({ broker: 'fake:5672' }, 'notification broker connected');
    opts.onStats?.(stats());
  });
  return {
    publish(_routingKey, body, label) {
      if (label.eventType === 'test.crash') {
        // Outside the port's handler, so nothing catches it.
        setImmediate(() => {
          throw new Error(`crash asked for (${body.length} bytes)`);
        });
      } else if (label.eventType === 'test.hold') {
        held.push(label);
      } else {
        sent += label.eventType === 'test.release' ? held.length + 1 : 1;
        if (label.eventType === 'test.release') held = [];
      }
      opts.onStats?.(stats());
    },
    stats,
    async close() {
      sent += held.length;
      held = [];
      opts.onStats?.(stats());
    },
  };
}

export function start(): void {
  serveThread(fakeTransport);
}
