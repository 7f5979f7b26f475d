/**
 * Publishes notification bodies to RabbitMQ (AMQP 0-9-1, amqplib) without ever holding up a
 * request: `publish` only appends to a bounded in-memory queue; one loop connects (hosts in
 * turn, backoff between rounds), declares what oslo.messaging's rabbit driver declares (the
 * control exchange, topic, not durable; a queue named after each routing key, bound to it, so
 * nothing is lost before a consumer binds), and publishes on a confirm channel, the messages
 * of a few milliseconds together (one socket write, one ack for them all). A message
 * leaves the queue when the broker confirms it; one the broker refuses or that a dropped
 * connection left unconfirmed goes back to the queue (oldest first) up to `retry` times. When
 * the queue is full, new messages are dropped and counted.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { describeEndpoints, type AmqpEndpoint } from './transport-url.js';

export interface TransportLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** What the queue knows of a message, for the drop log. */
export interface MessageLabel {
  readonly eventType: string;
  readonly imageId?: string | null;
}

export interface AmqpTransportOptions {
  readonly endpoints: readonly AmqpEndpoint[];
  /** The control exchange (`[DEFAULT] control_exchange`, glance). */
  readonly exchange: string;
  /** Messages held while the broker is away or slow; beyond it new ones are dropped. */
  readonly queueSize: number;
  /** Re-sends of a refused or unconfirmed message; -1 = as long as it stays queued. */
  readonly retry: number;
  readonly logger: TransportLogger;
  /** First reconnect delay, doubled per failed round up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Publishes awaiting confirmation at once. */
  readonly window?: number;
  /**
   * How long a new message waits for others before the queue is handed to the channel: the
   * messages of that time leave in one socket write and come back confirmed in one ack, rather
   * than a write and an ack each (the CPU that notifications cost under load). Default 10 ms.
   */
  readonly batchDelayMs?: number;
  /**
   * The caller hands messages over in batches and calls `flush()` after each: `publish` arms no
   * batch timer (the notification thread drains its ring on a timer of its own).
   */
  readonly callerFlushes?: boolean;
  /** Seconds between drop log lines (the first drop is logged at once). */
  readonly dropLogIntervalMs?: number;
  /** Socket connect timeout. */
  readonly connectTimeoutMs?: number;
  /**
   * Called with the counters whenever sent, dropped or connected change (the notification
   * thread copies them into memory the main thread reads without asking).
   */
  readonly onStats?: (stats: TransportStats) => void;
}

export interface TransportStats {
  readonly sent: number;
  readonly dropped: number;
  readonly queued: number;
  readonly connected: boolean;
}

/** oslo's rabbit driver's message properties (the same object for every publish: amqplib only reads it). */
const PROPERTIES = Object.freeze({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, priority: 0, headers: {} });

/** Bytes the socket buffers before amqplib waits for it to drain (a batch's write-out). */
const SOCKET_BUFFER_BYTES = 1024 * 1024;

/** The TCP socket under an amqplib connection (not part of its API: undefined if that changes). */
function socketOf(model: ChannelModel | undefined): { cork(): void; uncork(): void } | undefined {
  const stream = (model as unknown as { connection?: { stream?: { cork?: unknown; uncork?: unknown } } } | undefined)?.connection?.stream;
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as { cork(): void; uncork(): void }) : undefined;
}

interface Pending {
  readonly seq: number;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly label: MessageLabel;
  attempts: number;
}

export interface AmqpTransport {
  /** Queues a body for `routingKey`; never throws, never waits. */
  publish(routingKey: string, body: Buffer, label: MessageLabel): void;
  stats(): TransportStats;
  /** Hands what is queued to the channel now (a batch the caller has finished). */
  flush?(): void;
  /** Waits (up to `timeoutMs`) for the queue to drain, then closes the connection; later publishes are dropped. */
  close(timeoutMs?: number): Promise<void>;
}

export function createAmqpTransport(opts: AmqpTransportOptions): AmqpTransport {
  const log = opts.logger;
  const window = opts.window ?? 64;
  const batchDelay = opts.batchDelayMs ?? 10;
  const initialBackoff = opts.initialBackoffMs ?? 200;
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  const dropLogInterval = opts.dropLogIntervalMs ?? 10_000;
  const where = describeEndpoints(opts.endpoints);

  const queue: Pending[] = [];
  let inflight = 0;
  let seq = 0;
  let sent = 0;
  let dropped = 0;
  let closed = false;
  let connection: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  /** Routing keys whose default queue was declared on the current connection. */
  let declared = new Set<string>();
  let connecting = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let backoff = initialBackoff;
  let nextHost = 0;
  /** False after publish() said the socket buffer is full, until the channel drains. */
  let writable = true;
  // Drop log: the first drop at once, then a summary per interval.
  let lastDropLog = 0;
  let dropsSinceLog = 0;

  function stats(): TransportStats {
    return { sent, dropped, queued: queue.length + inflight, connected: channel !== undefined };
  }
  const changed = opts.onStats === undefined ? () => undefined : () => opts.onStats!(stats());

  function drop(item: { label: MessageLabel }, reason: string): void {
    dropped += 1;
    changed();
    dropsSinceLog += 1;
    const now = Date.now();
    if (now - lastDropLog >= dropLogInterval) {
      log.warn(
        { event_type: item.label.eventType, image: item.label.imageId ?? null, dropped: dropsSinceLog, dropped_total: dropped, reason },
        'notification dropped',
      );
      lastDropLog = now;
      dropsSinceLog = 0;
    }
  }

  function requeue(item: Pending, reason: string): void {
    item.attempts += 1;
    if (closed || (opts.retry >= 0 && item.attempts > opts.retry)) {
      drop(item, reason);
      return;
    }
    // Back in sequence order: the oldest unsent message goes first.
    let i = 0;
    while (i < queue.length && queue[i]!.seq < item.seq) i += 1;
    queue.splice(i, 0, item);
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer !== undefined || connecting) return;
    const delay = backoff;
    backoff = Math.min(maxBackoff, backoff * 2);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, delay);
    reconnectTimer.unref();
  }

  function lost(err: unknown): void {
    if (connection === undefined) return;
    connection = undefined;
    channel = undefined;
    writable = true;
    changed();
    if (!closed) log.warn({ err, broker: where }, 'notification broker connection lost; reconnecting');
    scheduleReconnect();
  }

  async function connect(): Promise<void> {
    if (closed || connecting || connection !== undefined) return;
    connecting = true;
    try {
      // One round over the hosts, starting where the last working one was.
      for (let tried = 0; tried < opts.endpoints.length && !closed; tried += 1) {
        const index = (nextHost + tried) % opts.endpoints.length;
        const ep = opts.endpoints[index]!;
        let conn: ChannelModel | undefined;
        try {
          // amqplib hands these to net.connect, which takes stream options too: a socket buffer
          // that holds a whole batch (with net's 16 KiB default a corked batch filled it after
          // about a dozen messages, and amqplib wrote the rest one syscall each).
          const socketOptions = { timeout: opts.connectTimeoutMs ?? 10_000, writableHighWaterMark: SOCKET_BUFFER_BYTES };
          conn = await amqp.connect(
            { protocol: 'amqp', hostname: ep.hostname, port: ep.port, username: ep.username, password: ep.password, vhost: ep.vhost, heartbeat: 60 },
            socketOptions,
          );
          // An 'error' event without a listener would throw: listen before anything can fail.
          conn.on('error', (err: Error) => log.warn({ err, broker: where }, 'notification broker connection error'));
          const ch = await conn.createConfirmChannel();
          ch.on('error', (err: Error) => log.warn({ err, broker: where }, 'notification channel error'));
          await ch.assertExchange(opts.exchange, 'topic', { durable: false, autoDelete: false });
          if (closed) {
            await conn.close().catch(() => undefined);
            return;
          }
          conn.on('close', (err?: Error) => lost(err));
          ch.on('close', () => {
            // A channel closed by the broker (e.g. a refused declaration) ends the connection too.
            if (channel === ch) void conn!.close().catch(() => undefined);
          });
          ch.on('drain', () => {
            writable = true;
            pump();
          });
          connection = conn;
          channel = ch;
          declared = new Set();
          nextHost = index;
          backoff = initialBackoff;
          changed();
          log.info({ broker: `${ep.hostname}:${ep.port}` }, 'notification broker connected');
          pump();
          return;
        } catch (err) {
          log.warn({ err, broker: `${ep.hostname}:${ep.port}` }, 'notification broker unreachable');
          await conn?.close().catch(() => undefined);
        }
      }
      nextHost = (nextHost + 1) % opts.endpoints.length;
    } finally {
      connecting = false;
    }
    scheduleReconnect();
  }

  /** oslo's rabbit driver declares a queue named after the routing key, bound to it, once per connection. */
  async function declareDefaultQueue(ch: ConfirmChannel, routingKey: string): Promise<void> {
    await ch.assertQueue(routingKey, { durable: false, autoDelete: false });
    await ch.bindQueue(routingKey, opts.exchange, routingKey);
    declared.add(routingKey);
  }

  let pumping = false;
  /** A queue declaration is under way: the loop waits for it. */
  let declaring = false;
  /**
   * Hands queued messages to the channel while it takes them. Synchronous (no promise per
   * message): it runs inside publish(), on the request's path; only a routing key not yet
   * declared on this connection waits for the broker, and the loop resumes after it.
   */
  function pump(): void {
    if (pumping || declaring) return;
    pumping = true;
    // amqplib writes each message to the socket on its own (its channel buffer is in object
    // mode): held corked until its write-out has run, the batch leaves in one writev. That
    // write-out is a setImmediate which the stream's 'readable' event (a nextTick after the
    // first publish) schedules: the uncork waits for the loop's next check phase, after it.
    const socket = channel === undefined ? undefined : socketOf(connection);
    socket?.cork();
    try {
      while (channel !== undefined && writable && queue.length > 0 && inflight < window) {
        const ch = channel;
        const item = queue[0]!;
        if (!declared.has(item.routingKey)) {
          declareThenPump(ch, item.routingKey);
          return;
        }
        queue.shift();
        inflight += 1;
        try {
          writable = ch.publish(opts.exchange, item.routingKey, item.body, PROPERTIES, (err: unknown) => confirmed(item, err));
        } catch (err) {
          // Publishing on a channel that just closed: the message waits for the next connection.
          inflight -= 1;
          requeue(item, err instanceof Error ? err.message : String(err));
          return;
        }
      }
    } finally {
      pumping = false;
      if (socket !== undefined) setImmediate(() => setImmediate(() => socket.uncork()));
    }
  }

  /** The broker's answer to one publish (the confirm channel calls back once per message). */
  function confirmed(item: Pending, err: unknown): void {
    inflight -= 1;
    if (err) requeue(item, err instanceof Error ? err.message : 'not confirmed');
    else sent += 1;
    changed();
    if (queue.length > 0) pumpSoon();
    else if (inflight === 0) notifyIdle();
  }

  /** Declares `routingKey`'s queue (pump stays paused meanwhile), then resumes pumping. */
  function declareThenPump(ch: ConfirmChannel, routingKey: string): void {
    declaring = true;
    declareDefaultQueue(ch, routingKey).then(
      () => {
        declaring = false;
        pump();
      },
      (err: unknown) => {
        declaring = false;
        // The channel is closing: the reconnect brings the loop back.
        log.warn({ err, routing_key: routingKey }, 'could not declare the notification queue');
      },
    );
  }

  let batchTimer: NodeJS.Timeout | undefined;
  /** Pumps after the batch delay (once for all the messages queued meanwhile). */
  function pumpSoon(): void {
    if (batchTimer !== undefined) return;
    batchTimer = setTimeout(() => {
      batchTimer = undefined;
      pump();
    }, batchDelay);
    batchTimer.unref();
  }

  let idleWaiters: (() => void)[] = [];
  function notifyIdle(): void {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  void connect();

  return {
    publish(routingKey, body, label) {
      if (closed || queue.length + inflight >= opts.queueSize) {
        drop({ label }, closed ? 'notifier closed' : 'outbound queue full');
        return;
      }
      seq += 1;
      queue.push({ seq, routingKey, body, label, attempts: 0 });
      if (channel !== undefined && opts.callerFlushes !== true) pumpSoon();
    },
    stats,
    flush() {
      if (batchTimer !== undefined) {
        clearTimeout(batchTimer);
        batchTimer = undefined;
      }
      pump();
    },
    async close(timeoutMs = 5000) {
      if (batchTimer !== undefined) {
        clearTimeout(batchTimer);
        batchTimer = undefined;
      }
      pump();
      if (queue.length + inflight > 0 && channel !== undefined) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          timer.unref();
          idleWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      closed = true;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      const conn = connection;
      connection = undefined;
      channel = undefined;
      for (const item of queue.splice(0)) drop(item, 'notifier closed');
      changed();
      await conn?.close().catch(() => undefined);
    },
  };
}
