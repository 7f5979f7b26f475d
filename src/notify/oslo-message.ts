/**
 * The notification message oslo.messaging's Notifier builds, and the body its rabbit driver
 * publishes: message format 1.0 (`messaging` driver: the message itself) or 2.0
 * (`messagingv2`: the `{"oslo.version": "2.0", "oslo.message": "<json>"}` envelope). Pure.
 */
import { randomUUID } from 'node:crypto';
import { pyJsonDumps } from '../domain/py-format.js';

/** oslo.messaging's priorities, as they appear in the message (upper case). */
export type NotificationPriority = 'AUDIT' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SAMPLE';

/** The payload of a notification: a formatted object, or the text of an error notification. */
export type NotificationPayload = Record<string, unknown> | string;

export interface OsloMessage {
  readonly message_id: string;
  readonly publisher_id: string;
  readonly event_type: string;
  readonly priority: NotificationPriority;
  readonly payload: NotificationPayload;
  /** Python's `str(datetime.utcnow())`: `2026-12-06 15:52:35.123000`. */
  readonly timestamp: string;
}

/** Python's str() of a naive UTC datetime (microseconds left out when zero, as Python does). */
export function pythonUtcTimestamp(d: Date): string {
  const iso = d.toISOString(); // 2026-12-06T15:52:35.123Z
  const ms = d.getUTCMilliseconds();
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return ms === 0 ? base : `${base}.${String(ms * 1000).padStart(6, '0')}`;
}

/** The message oslo.messaging's Notifier._notify builds. */
export function buildMessage(fields: {
  publisherId: string;
  eventType: string;
  priority: NotificationPriority;
  payload: NotificationPayload;
  now: Date;
  messageId?: string;
}): OsloMessage {
  return {
    message_id: fields.messageId ?? randomUUID(),
    publisher_id: fields.publisherId,
    event_type: fields.eventType,
    priority: fields.priority,
    payload: fields.payload,
    timestamp: pythonUtcTimestamp(fields.now),
  };
}

/**
 * The AMQP body of `message` as the rabbit driver sends it: `_unique_id` added (its duplicate
 * detection key), then the request context as `_context_<key>` entries (Glance notifies with an
 * empty context, so by default there are none), and for version 2 the envelope around it. JSON
 * as Python's json.dumps writes it.
 */
export function amqpBody(
  message: OsloMessage,
  version: 1 | 2,
  opts: { uniqueId?: string; context?: Readonly<Record<string, unknown>> } = {},
): Buffer {
  // Built as text around the message's JSON (written once per message, whatever the number of
  // drivers and topics): the same bytes as json.dumps of the dict with the keys appended.
  const messageJson = messageJsonOf(message);
  let raw = `${messageJson.slice(0, -1)}, "_unique_id": ${pyJsonDumps(opts.uniqueId ?? hexUuid())}`;
  const context = opts.context;
  if (context !== undefined) {
    for (const key of Object.keys(context)) {
      const value = context[key];
      if (value !== undefined) raw += `, ${pyJsonDumps(`_context_${key}`)}: ${pyJsonDumps(value)}`;
    }
  }
  raw += '}';
  // The inner text is ASCII (ensure_ascii), so quoting it once more needs no second scan.
  const body = version === 2 ? `{"oslo.version": "2.0", "oslo.message": ${JSON.stringify(raw)}}` : raw;
  return Buffer.from(body, 'latin1');
}

/** The JSON of each message, kept while the message lives (one per emit, shared by every body). */
const messageJsons = new WeakMap<OsloMessage, string>();

function messageJsonOf(message: OsloMessage): string {
  let json = messageJsons.get(message);
  if (json === undefined) {
    json = pyJsonDumps(message);
    messageJsons.set(message, json);
  }
  return json;
}

/** uuid.uuid4().hex: a random (version 4) UUID without its dashes. */
function hexUuid(): string {
  const u = randomUUID();
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}
