/**
 * The notification thread (started by threaded-transport.ts): receives the messages the main
 * thread built, writes their AMQP bodies (Python's json.dumps text, one per route) and publishes
 * them through the AMQP transport (queue, confirms, reconnects). Its counters go to the shared
 * buffer the main thread reads, its log records to the main thread's logger.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createAmqpTransport, type AmqpTransport, type AmqpTransportOptions, type TransportStats } from './amqp-transport.js';
import { ringReader } from './handover-ring.js';
import { amqpBody } from './oslo-message.js';
import { C_CONNECTED, C_DROPPED, C_SENT, messageLabel, portableLogFields, type FromThread, type Handover, type ThreadData, type ToThread } from './threaded-transport.js';

/** How often the ring is drained while messages come (the transport batches 10 ms after that). */
const DRAIN_MS = 10;

/** The thread's entry point (what the bootstrap calls). */
export function start(): void {
  serveThread(createAmqpTransport);
}

/** Runs the thread's side over `createTransport` (tests pass a transport without a broker). */
export function serveThread(createTransport: (opts: AmqpTransportOptions) => AmqpTransport): void {
  const port = parentPort;
  if (port === null) throw new Error('the notification thread must run in a worker thread');
  const data = workerData as ThreadData;
  const counters = new BigInt64Array(data.counters);
  const routes = data.options.routes;
  const post = (msg: FromThread) => port.postMessage(msg);
  const at = (level: 'info' | 'warn' | 'error') => (obj: Record<string, unknown>, msg: string) =>
    post({ t: 'log', level, obj: portableLogFields(obj), msg });
  const onStats = (s: TransportStats) => {
    Atomics.store(counters, C_SENT, BigInt(s.sent));
    Atomics.store(counters, C_DROPPED, BigInt(s.dropped));
    Atomics.store(counters, C_CONNECTED, s.connected ? 1n : 0n);
  };
  const transport = createTransport({ ...data.options, logger: { info: at('info'), warn: at('warn'), error: at('error') }, onStats });

  function publish(item: Handover): void {
    const label = messageLabel(item.m);
    try {
      const priority = item.m.priority.toLowerCase();
      for (let i = 0; i < item.n; i += 1) {
        const route = routes[i]!;
        transport.publish(`${route.topic}.${priority}`, amqpBody(item.m, route.version, { context: item.c }), label);
      }
    } catch (err) {
      // Never expected (the body is plain data); the thread carries on with the next message.
      at('error')({ err, event_type: label.eventType, image: label.imageId ?? null }, 'could not send notification');
    }
  }

  // Drained every DRAIN_MS while messages come; when it finds none it sleeps until the writer wakes it.
  const ring = ringReader(data.ring);
  const handle = (text: string) => publish(JSON.parse(text) as Handover);
  let closing = false;
  const drain = () => {
    if (closing) return;
    if (ring.drain(handle) > 0) setTimeout(drain, DRAIN_MS);
    else void ring.news().then(() => setTimeout(drain, DRAIN_MS));
  };
  drain();

  port.on('message', (msg: ToThread) => {
    closing = true;
    ring.drain(handle);
    for (const text of msg.rest) handle(text);
    transport.close(msg.ms).then(
      () => {
        onStats(transport.stats());
        post({ t: 'closed' });
      },
      (err: unknown) => {
        at('error')({ err }, 'notification transport close failed');
        post({ t: 'closed' });
      },
    );
  });
}
