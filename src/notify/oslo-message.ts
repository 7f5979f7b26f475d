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
  const raw = `${messageJson.slice(0, -1)}, "_unique_id": ${pyJsonDumps(opts.uniqueId ?? hexUuid())}${contextKeys(opts.context)}}`;
  // The inner text is ASCII (ensure_ascii), so quoting it once more needs no second scan.
  const body = version === 2 ? `{"oslo.version": "2.0", "oslo.message": ${JSON.stringify(raw)}}` : raw;
  return Buffer.from(body, 'latin1');
}

/** The request context as the rabbit driver appends it to the dict: `, "_context_<key>": value` for each key set. */
function contextKeys(context: Readonly<Record<string, unknown>> | undefined): string {
  let text = '';
  if (context === undefined) return text;
  for (const key of Object.keys(context)) {
    const value = context[key];
    if (value !== undefined) text += `, ${pyJsonDumps(`_context_${key}`)}: ${pyJsonDumps(value)}`;
  }
  return text;
}

/**
 * The same body as `amqpBody(JSON.parse(messageJson), …)`, from the message's JSON.stringify
 * text (what the event loop hands the notification thread): written in one pass over that
 * text (its keys in OsloMessage's order, the timestamp last), without parsing it back into objects and serializing them again. json.dumps's
 * separators go in after each `,` and `:` outside strings, ensure_ascii escapes DEL and
 * everything beyond ASCII per UTF-16 unit, and for the 2.0 envelope the text is quoted in the
 * same pass (each `\` and `"` escaped once more). A number Python would print otherwise (a
 * float, an integer beyond 2^53) takes amqpBody's path.
 */
export function amqpBodyFromJson(
  messageJson: string,
  version: 1 | 2,
  opts: { uniqueId?: string; context?: Readonly<Record<string, unknown>> } = {},
): Buffer {
  if (holdsFloat(messageJson)) return amqpBody(JSON.parse(messageJson) as OsloMessage, version, opts);
  const quoted = version === 2;
  // The message's text without its closing brace; then the keys the driver adds, then the brace.
  const tail = `, "_unique_id": "${opts.uniqueId === undefined ? hexUuid() : pyJsonDumps(opts.uniqueId).slice(1, -1)}"${contextKeys(opts.context)}}`;
  const inner = pythonText(messageJson, messageJson.length - 1, quoted);
  // json.dumps's output is ASCII: quoting the tail needs no ensure_ascii pass.
  const body = quoted ? `{"oslo.version": "2.0", "oslo.message": "${inner}${JSON.stringify(tail).slice(1, -1)}"}` : inner + tail;
  return Buffer.from(body, 'latin1');
}

/**
 * A number token in JSON.stringify's text that is not a plain integer below 2^53 (Python prints
 * it as a float): a fraction, an exponent, 16 digits or more. One that only looks like it, inside
 * a string, just takes the slower path.
 */
const FLOAT_IN_COMPACT = /[:[,]-?\d+(?:[.eE]|\d{15})/g;

/**
 * Whether a message's JSON text may hold such a number. The timestamp, the message's last key,
 * is left out: it is a string, and its time (`15:52:35.123000`) would always look like one.
 */
function holdsFloat(messageJson: string): boolean {
  const timestamp = messageJson.lastIndexOf(',"timestamp":"');
  FLOAT_IN_COMPACT.lastIndex = 0;
  const found = FLOAT_IN_COMPACT.exec(messageJson);
  return found !== null && (timestamp < 0 || found.index < timestamp);
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const DEL = 0x7f;

/**
 * `json`'s first `end` UTF-16 units (JSON.stringify text) as json.dumps writes them; with
 * `quoted`, as JSON.stringify then writes that text inside a string (without the outer quotes).
 */
function pythonText(json: string, end: number, quoted: boolean): string {
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < end; i += 1) {
    const c = json.charCodeAt(i);
    if (c < DEL && c !== QUOTE && c !== BACKSLASH && c !== COMMA && c !== COLON) continue;
    let rep: string;
    if (c === QUOTE) {
      inString = !inString;
      if (!quoted) continue;
      rep = '\\"';
    } else if (c === BACKSLASH) {
      // An escape (only inside strings): itself and the character after it.
      i += 1;
      if (!quoted) continue;
      const next = json.charCodeAt(i);
      rep = next === QUOTE ? '\\\\\\"' : next === BACKSLASH ? '\\\\\\\\' : `\\\\${json[i]}`;
      out += json.slice(from, i - 1) + rep;
      from = i + 1;
      continue;
    } else if (c === COMMA || c === COLON) {
      if (inString) continue;
      rep = c === COMMA ? ', ' : ': ';
    } else {
      rep = `${quoted ? '\\\\u' : '\\u'}${c.toString(16).padStart(4, '0')}`;
    }
    out += json.slice(from, i) + rep;
    from = i + 1;
  }
  return out + json.slice(from, end);
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
