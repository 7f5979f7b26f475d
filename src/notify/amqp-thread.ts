/**
 * The notification thread (started by threaded-transport.ts): receives the messages the main
 * thread built, writes their AMQP bodies (Python's json.dumps text, one per route) and publishes
 * them through the AMQP transport (queue, confirms, reconnects). Its counters go to the shared
 * buffer the main thread reads, its log records to the main thread's logger.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { parentPort, workerData } from 'node:worker_threads';
import { createAmqpTransport, type AmqpTransport, type AmqpTransportOptions, type MessageLabel, type TransportStats } from './amqp-transport.js';
import { ringReader } from './handover-ring.js';
import { amqpBodyFromJson } from './oslo-message.js';
import { C_CONNECTED, C_DROPPED, C_SENT, portableLogFields, type FromThread, type HandoverHeader, type ThreadData, type ToThread } from './threaded-transport.js';

/**
 * How often the ring is drained while messages come: what came meanwhile leaves in one socket
 * write (and usually one broker ack). The broker's CPU per message falls with the batch (on the
 * bench's machine ~110 µs at 2 ms, ~70 at 10 ms, ~60 at 20-50 ms); a message waits up to this
 * long, as it waited up to 10 ms here plus the transport's 10 ms before.
 */
const DRAIN_MS = 20;

/** The thread's entry point (what the bootstrap calls). */
export function start(): void {
  serveThread(createAmqpTransport, benchProfiler(process.env.BENCH_CPU_PROFILE));
}

/**
 * bench/notifications.ts profiles its servers (BENCH_CPU_PROFILE=<file>, bench/cpu-profile-preload.mjs):
 * that preload profiles the main thread only, so this thread writes its own `<file>.thread.cpuprofile`
 * when it closes. The returned function stops the profile and writes it (synchronously).
 */
function benchProfiler(file: string | undefined): (() => void) | undefined {
  if (!file) return undefined;
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  return () =>
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(`${file}.thread.cpuprofile`, JSON.stringify(result.profile));
    });
}

/** Runs the thread's side over `createTransport` (tests pass a transport without a broker). */
export function serveThread(createTransport: (opts: AmqpTransportOptions) => AmqpTransport, onClose?: () => void): void {
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
  // The drain below hands each batch over and flushes it: the transport needs no timer of its own.
  const transport = createTransport({ ...data.options, logger: { info: at('info'), warn: at('warn'), error: at('error') }, onStats, callerFlushes: true });

  /** Routing keys by priority, per route: `<topic>.<priority>`. */
  const keys = new Map<string, string[]>();
  const routingKeys = (priority: string): string[] => {
    let list = keys.get(priority);
    if (list === undefined) {
      const lower = priority.toLowerCase();
      list = routes.map((route) => `${route.topic}.${lower}`);
      keys.set(priority, list);
    }
    return list;
  };

  /** One ring record (threaded-transport.ts handoverRecord): a body per route it names. */
  function handle(record: string): void {
    const newline = record.indexOf('\n');
    let label: MessageLabel = { eventType: '?' };
    try {
      const [n, priority, eventType, imageId, context] = JSON.parse(record.slice(0, newline)) as HandoverHeader;
      label = { eventType, imageId };
      const json = record.slice(newline + 1);
      const keyList = routingKeys(priority);
      const opts = context === null ? {} : { context };
      for (let i = 0; i < n; i += 1) transport.publish(keyList[i]!, amqpBodyFromJson(json, routes[i]!.version, opts), label);
    } catch (err) {
      // Never expected (the body is plain data); the thread carries on with the next message.
      at('error')({ err, event_type: label.eventType, image: label.imageId ?? null }, 'could not send notification');
    }
  }

  // Drained every DRAIN_MS while messages come; when it finds none it sleeps until the writer
  // wakes it. What a drain found goes to the channel at once: one socket write, one wake-up.
  const ring = ringReader(data.ring);
  let closing = false;
  const drain = () => {
    if (closing) return;
    if (ring.drain(handle) > 0) {
      transport.flush?.();
      setTimeout(drain, DRAIN_MS);
    } else void ring.news().then(() => setTimeout(drain, DRAIN_MS));
  };
  drain();

  port.on('message', (msg: ToThread) => {
    onClose?.();
    closing = true;
    ring.drain(handle);
    for (const text of msg.rest) handle(text);
    transport.flush?.();
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
