/**
 * The main thread's side of notification publishing. Everything AMQP (the body as Python's
 * json.dumps writes it, amqplib, publisher confirms, the outbound queue, reconnects) runs in
 * one worker thread (amqp-thread.ts): measured on a metadata bench, building the bodies and
 * publishing them took ~6 % of the event loop's busy time, more than the 5 % notifications may
 * cost the API. Here each message is only written, as JSON text, into a ring in shared memory
 * (handover-ring.ts) that the thread drains; one ring, one thread: the order is kept.
 * Handovers measured in the bench's profile (share of the event loop's busy samples):
 * a postMessage per message, or per 5-20 ms batch of structured clones, ~1.5-1.8 %, nearly all
 * inside postMessage (waking the sleeping thread, whatever the batch size); the same batches as
 * JSON text ~2.1 %; the ring ~1.3 % (JSON.stringify ~0.9, the copy ~0.4), no wake-up while
 * messages keep coming.
 *
 * - `stats()` stays synchronous: the thread writes its counters (sent, dropped, connected) into
 *   a SharedArrayBuffer; this side counts what it handed over, so `queued` is exact at once.
 * - The queue bound is applied here, before the handover: what the thread holds never exceeds
 *   it, and a drop is counted and logged on the caller's turn, as before.
 * - The thread's log records ({level, obj, msg}) are written by the main logger.
 * - A thread that dies (an error, an exit) is logged; what it held is counted as dropped, and a
 *   new one is started, at most `maxRestarts` times in the process's life; after that,
 *   notifications are dropped (and counted) and the broker is reported unreachable.
 * - The worker is unreferenced (it never keeps the process alive), except while `close` waits
 *   for it to flush.
 */
import { Worker } from 'node:worker_threads';
import type { AmqpTransportOptions, MessageLabel, TransportLogger, TransportStats } from './amqp-transport.js';
import { createRingBuffers, ringWriter, type RingBuffers, type RingWriter } from './handover-ring.js';
import type { OsloMessage } from './oslo-message.js';

/** Where one message goes: one AMQP body per route, in this order, routing key `<topic>.<priority>`. */
export interface NotificationRoute {
  /** oslo message format: 1 (`messaging` driver) or 2 (`messagingv2`). */
  readonly version: 1 | 2;
  readonly topic: string;
}

export interface ThreadedTransportOptions extends Omit<AmqpTransportOptions, 'logger' | 'onStats'> {
  readonly routes: readonly NotificationRoute[];
  readonly logger: TransportLogger;
  /** New threads after a thread died, in the process's life. Default 5. */
  readonly maxRestarts?: number;
  /** Tests only: the module the thread runs (it exports `start()`); default amqp-thread. */
  readonly threadEntry?: URL;
}

export interface ThreadedTransport {
  /** Hands `message` to the thread for every route; never throws for the broker, never waits. */
  publish(message: OsloMessage, context: Readonly<Record<string, unknown>> | undefined): void;
  stats(): TransportStats;
  /** Waits (up to `timeoutMs`) for the thread to flush, closes the connection, ends the thread. */
  close(timeoutMs?: number): Promise<void>;
}

/** Tests only: the running worker, to kill it. */
export interface ThreadedTransportForTests extends ThreadedTransport {
  worker(): Worker | undefined;
}

/** What the thread is given at start. */
export interface ThreadData {
  readonly entry: string;
  readonly tsxApi: string | undefined;
  readonly options: Omit<ThreadedTransportOptions, 'logger' | 'threadEntry' | 'maxRestarts'>;
  /** BigInt64 words the thread writes: see C_*. */
  readonly counters: SharedArrayBuffer;
  /** The messages, a handoverRecord each. */
  readonly ring: RingBuffers;
}

/** Counter words in the shared buffer. */
export const C_SENT = 0;
export const C_DROPPED = 1;
export const C_CONNECTED = 2;
export const COUNTER_WORDS = 3;

/** Main thread to notification thread. */
export type ToThread =
  /** Ends the thread: it drains the ring, then publishes `rest` (records the ring had no room for). */
  | { readonly t: 'close'; readonly ms: number; readonly rest: readonly string[] };

/**
 * One message for the thread, as one ring record: a header line, then the message's
 * JSON.stringify text (from which the thread writes the bodies without parsing it:
 * oslo-message.ts amqpBodyFromJson). The header is the JSON of a HandoverHeader.
 */
export function handoverRecord(message: OsloMessage, context: Readonly<Record<string, unknown>> | undefined, routes: number): string {
  const label = messageLabel(message);
  const header: HandoverHeader = [routes, message.priority, label.eventType, label.imageId ?? null, context ?? null];
  return `${JSON.stringify(header)}\n${JSON.stringify(message)}`;
}

/**
 * What the thread needs besides the message's text: its first `n` routes (those the queue bound
 * left room for), the priority (the routing key's suffix), the drop log's label, the context.
 */
export type HandoverHeader = readonly [
  n: number,
  priority: OsloMessage['priority'],
  eventType: string,
  imageId: string | null,
  context: Readonly<Record<string, unknown>> | null,
];

/** Notification thread to main thread. */
export type FromThread =
  | { readonly t: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly obj: Record<string, unknown>; readonly msg: string }
  | { readonly t: 'closed' };

/** An Error as it crosses the port (its class and own fields would not). */
export interface PortableError {
  readonly $error: true;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: unknown;
}

/** Replaces the Errors among a log record's values by plain objects that survive the port. */
export function portableLogFields(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    out[key] = v instanceof Error ? { $error: true, name: v.name, message: v.message, stack: v.stack, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}

function revivedLogFields(obj: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(obj)) {
    const v = obj[key] as Partial<PortableError> | undefined;
    if (typeof v === 'object' && v !== null && v.$error === true) {
      const err = new Error(v.message);
      err.name = v.name ?? 'Error';
      if (v.stack !== undefined) err.stack = v.stack;
      if (v.code !== undefined) (err as Error & { code?: unknown }).code = v.code;
      obj[key] = err;
    }
  }
  return obj;
}

/** What the drop log says of a message: its event type and the image (or member's image) id. */
export function messageLabel(message: OsloMessage): MessageLabel {
  const payload = message.payload;
  const imageId = typeof payload === 'object' ? ((payload.id ?? payload.image_id) as string | undefined) : undefined;
  return { eventType: message.event_type, imageId };
}

/** The thread's code loader: under tsx (sources) the thread registers tsx itself (workers do not inherit its hooks). */
const BOOTSTRAP = `(async () => {
  const { workerData } = require('node:worker_threads');
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  (await import(workerData.entry)).start();
})()`;

const DEFAULT_MAX_RESTARTS = 5;
/**
 * Bytes of the handover ring: the messages of the thread's drain interval (10 ms) under any load
 * (a message is ~1-2 KiB); one that finds no room waits here, in order.
 */
const RING_BYTES = 1024 * 1024;
const RING_RETRY_MS = 10;
/** V8 young-generation limit of the thread (what it keeps alive is its queue). */
const YOUNG_GENERATION_MB = 2;

export function createThreadedTransport(opts: ThreadedTransportOptions): ThreadedTransportForTests {
  const { logger: log, threadEntry, maxRestarts = DEFAULT_MAX_RESTARTS, ...options } = opts;
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = (threadEntry ?? new URL(`./amqp-thread.${fromSources ? 'ts' : 'js'}`, import.meta.url)).href;
  const tsxApi = fromSources ? import.meta.resolve('tsx/esm/api') : undefined;
  const fanOut = options.routes.length;
  const dropLogInterval = options.dropLogIntervalMs ?? 10_000;

  let worker: Worker | undefined;
  let counters: BigInt64Array<ArrayBufferLike> = new BigInt64Array(0);
  /** Bodies handed to the current thread. */
  let handed = 0;
  /** Counters of earlier threads, and drops decided here. */
  let baseSent = 0;
  let baseDropped = 0;
  let restarts = 0;
  let closing = false;
  let onClosed: (() => void) | undefined;
  let lastDropLog = 0;
  let dropsSinceLog = 0;
  let ring: RingWriter | undefined;
  /** Messages (JSON text) counted in `handed` that found no room in the ring yet, oldest first. */
  let pending: string[] = [];
  let retryTimer: NodeJS.Timeout | undefined;

  /** Moves what waits here into the ring, oldest first, while it has room; retries later if not. */
  function flushPending(): void {
    retryTimer = undefined;
    let moved = 0;
    while (moved < pending.length && ring !== undefined && ring.write(pending[moved]!)) moved += 1;
    pending = moved === 0 ? pending : pending.slice(moved);
    if (pending.length > 0 && ring !== undefined) {
      retryTimer = setTimeout(flushPending, RING_RETRY_MS);
      retryTimer.unref();
    }
  }

  const threadSent = () => (counters.length === 0 ? 0 : Number(Atomics.load(counters, C_SENT)));
  const threadDropped = () => (counters.length === 0 ? 0 : Number(Atomics.load(counters, C_DROPPED)));
  /** Bodies the thread holds (queued or awaiting the broker's confirm). */
  const held = () => handed - threadSent() - threadDropped();

  function drop(label: MessageLabel, count: number, reason: string): void {
    baseDropped += count;
    dropsSinceLog += count;
    const now = Date.now();
    if (now - lastDropLog >= dropLogInterval) {
      log.warn(
        { event_type: label.eventType, image: label.imageId ?? null, dropped: dropsSinceLog, dropped_total: baseDropped + threadDropped(), reason },
        'notification dropped',
      );
      lastDropLog = now;
      dropsSinceLog = 0;
    }
  }

  function start(): void {
    const buffer = new SharedArrayBuffer(COUNTER_WORDS * BigInt64Array.BYTES_PER_ELEMENT);
    const buffers = createRingBuffers(RING_BYTES);
    const data: ThreadData = { entry, tsxApi, options, counters: buffer, ring: buffers };
    const w = new Worker(BOOTSTRAP, { eval: true, execArgv: [], workerData: data, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    worker = w;
    counters = new BigInt64Array(buffer);
    ring = ringWriter(buffers);
    handed = 0;
    w.on('message', (msg: FromThread) => {
      if (msg.t === 'log') log[msg.level](revivedLogFields(msg.obj), msg.msg);
      else if (msg.t === 'closed') onClosed?.();
    });
    w.on('error', (err) => log.error({ err }, 'notification thread failed'));
    w.on('exit', (code) => ended(w, code));
    // After the listeners (adding one refs the worker again).
    w.unref();
  }

  /** A thread is gone: what it held is lost; a new one takes over unless closing or too many died. */
  function ended(w: Worker, code: number): void {
    if (worker !== w) return;
    const lost = held();
    baseSent += threadSent();
    baseDropped += threadDropped() + lost;
    worker = undefined;
    counters = new BigInt64Array(0);
    handed = 0;
    ring = undefined;
    // Counted in `lost` above.
    pending = [];
    onClosed?.();
    if (closing) {
      if (lost > 0) log.warn({ dropped: lost }, 'notifications still queued at close dropped');
      return;
    }
    if (restarts < maxRestarts) {
      restarts += 1;
      log.error({ exit_code: code, dropped: lost, restart: restarts }, 'notification thread ended unexpectedly; its queued notifications are dropped; starting a new one');
      start();
    } else {
      log.error({ exit_code: code, dropped: lost }, 'notification thread ended unexpectedly too often; notifications are dropped from now on');
    }
  }

  start();

  return {
    publish(message, context) {
      if (closing || worker === undefined) {
        drop(messageLabel(message), fanOut, closing ? 'notifier closed' : 'notification thread failed');
        return;
      }
      const room = Math.min(fanOut, options.queueSize - held());
      if (room > 0) {
        // Throws (to emit's catch, nothing counted) on what JSON cannot hold: never expected.
        const text = handoverRecord(message, context, room);
        handed += room;
        if (pending.length > 0 || ring?.write(text) !== true) {
          pending.push(text);
          if (retryTimer === undefined) flushPending();
        }
      }
      if (room < fanOut) drop(messageLabel(message), fanOut - Math.max(room, 0), 'outbound queue full');
    },
    stats() {
      return {
        sent: baseSent + threadSent(),
        dropped: baseDropped + threadDropped(),
        queued: held(),
        connected: counters.length > 0 && Atomics.load(counters, C_CONNECTED) === 1n,
      };
    },
    async close(timeoutMs = 5000) {
      if (closing) return;
      closing = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      const rest = pending;
      pending = [];
      const w = worker;
      if (w === undefined) return;
      w.ref();
      // The thread flushes for up to timeoutMs; a thread that does not answer is ended anyway.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs + 2000);
        onClosed = () => {
          clearTimeout(timer);
          resolve();
        };
        w.postMessage({ t: 'close', ms: timeoutMs, rest } satisfies ToThread);
      });
      onClosed = undefined;
      await w.terminate();
    },
    worker: () => worker,
  };
}
