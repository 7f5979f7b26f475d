/**
 * Captures the notifications published to a broker, as a consumer of Glance's would: a queue
 * bound to the control exchange (`glance`, topic) for `notifications.*`; and normalises them
 * (ids, times, hosts) so a recording of the real Glance and one of Iris compare field by field.
 * Used by scripts/record-peer-notifications.ts and test/notify/*.test.ts.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';

/** One delivery as the consumer saw it. */
export interface CapturedMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly properties: {
    readonly contentType?: string;
    readonly contentEncoding?: string;
    readonly deliveryMode?: number;
    readonly priority?: number;
    readonly headers?: unknown;
    readonly expiration?: unknown;
    readonly messageId?: unknown;
    readonly type?: unknown;
    readonly appId?: unknown;
  };
  /** The body, parsed (for messagingv2 the envelope, `oslo.message` still a JSON string). */
  readonly body: Record<string, unknown>;
}

export interface Capture {
  /** Messages received so far, in arrival order. */
  readonly messages: CapturedMessage[];
  /** Resolves once at least `count` messages arrived (polls; bounded by `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<CapturedMessage[]>;
  /** Forgets the messages so far. */
  clear(): void;
  close(): Promise<void>;
}

/**
 * Declares the exchange (as oslo.messaging does: topic, not durable) and a private queue bound
 * to `<topic>.*`, and consumes from it.
 */
export async function captureNotifications(url: string, opts: { exchange?: string; topic?: string } = {}): Promise<Capture> {
  const exchange = opts.exchange ?? 'glance';
  const topic = opts.topic ?? 'notifications';
  const conn: ChannelModel = await amqp.connect(url);
  const ch: Channel = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  const q = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q.queue, exchange, `${topic}.*`);
  const messages: CapturedMessage[] = [];
  await ch.consume(
    q.queue,
    (m: ConsumeMessage | null) => {
      if (m === null) return;
      messages.push({
        exchange: m.fields.exchange,
        routingKey: m.fields.routingKey,
        properties: {
          contentType: m.properties.contentType as string | undefined,
          contentEncoding: m.properties.contentEncoding as string | undefined,
          deliveryMode: m.properties.deliveryMode as number | undefined,
          priority: m.properties.priority as number | undefined,
          headers: m.properties.headers as unknown,
          expiration: m.properties.expiration as unknown,
          messageId: m.properties.messageId as unknown,
          type: m.properties.type as unknown,
          appId: m.properties.appId as unknown,
        },
        body: JSON.parse(m.content.toString('utf8')) as Record<string, unknown>,
      });
    },
    { noAck: true },
  );
  return {
    messages,
    async waitFor(count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} notifications, got ${messages.length}: ${messages.map(eventTypeOf).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return [...messages];
    },
    clear() {
      messages.length = 0;
    },
    async close() {
      await conn.close();
    },
  };
}

/** The oslo message inside a capture (the v2 envelope opened, or the bare v1 message). */
export function osloMessage(m: CapturedMessage): Record<string, unknown> {
  const inner = m.body['oslo.message'];
  return typeof inner === 'string' ? (JSON.parse(inner) as Record<string, unknown>) : m.body;
}

export function eventTypeOf(m: CapturedMessage): string {
  return String(osloMessage(m).event_type);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ISO_TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?$/;

/**
 * A recording with ids, times and hosts replaced: UUIDs become `<ID-n>` by first appearance
 * (shared across the scenario, so an image id stays the same id in every message), times
 * `<TIME>`, the per-message ids `<MESSAGE-ID>` / `<UNIQUE-ID>`; tags sorted.
 */
export function normalise(messages: readonly CapturedMessage[]): unknown[] {
  const ids = new Map<string, string>();
  const id = (s: string): string => {
    const key = s.toLowerCase().replace(/-/g, '');
    let name = ids.get(key);
    if (name === undefined) {
      name = `<ID-${ids.size + 1}>`;
      ids.set(key, name);
    }
    return name;
  };
  const walk = (value: unknown, key?: string): unknown => {
    if (key === 'message_id') return '<MESSAGE-ID>';
    if (key === '_unique_id') return '<UNIQUE-ID>';
    if (typeof value === 'string') {
      if (ISO_TIME.test(value)) return '<TIME>';
      return value.replace(UUID, id);
    }
    // Glance's tags are a Python set: their order means nothing.
    if (Array.isArray(value)) return (key === 'tags' ? [...value].sort() : value).map((v) => walk(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[k];
        if (v !== undefined) out[k] = walk(v, k); // as JSON leaves them out of the recording
      }
      return out;
    }
    return value;
  };
  return messages.map((m) => {
    const envelope = { ...m.body };
    const message = osloMessage(m);
    if (typeof envelope['oslo.message'] === 'string') envelope['oslo.message'] = '<JSON>';
    return walk({ exchange: m.exchange, routingKey: m.routingKey, properties: m.properties, envelope, message });
  });
}
