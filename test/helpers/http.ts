/**
 * Tiny helpers around global fetch for API tests: one call, the whole answer as data, so
 * assertions can print it. Bodies are parsed as JSON when they look like JSON, else kept as text.
 *
 * @example
 *   const r = await json('POST', `${base}/v2/images`, { name: 'x' });
 *   assert.equal(r.status, 201, describe(r));
 */

export interface HttpAnswer<T = any> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON (Glance's webob error pages). */
  readonly body: T;
  readonly text: string;
}

/**
 * Sends `body` as JSON (Content-Type application/json unless given in `headers`) and asks for
 * JSON back, so Glance-style errors come as `{message, code, title}` rather than HTML.
 */
export async function json<T = any>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: any = text;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text (webob pages, empty 204s).
    }
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** PATCH with Glance's JSON-patch media type. */
export function patch<T = any>(
  url: string,
  ops: readonly unknown[],
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  return json<T>('PATCH', url, ops, { 'Content-Type': 'application/openstack-images-v2.1-json-patch', ...headers });
}

/** PUT raw bytes (an image upload) with a Content-Length. */
export function putBytes(url: string, data: Uint8Array, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  // Buffers are backed by ArrayBuffer, never SharedArrayBuffer; TS 5.9's BodyInit wants that said.
  return putBody(url, data as Uint8Array<ArrayBuffer>, headers);
}

/** PUT `size` bytes with no Content-Length (chunked transfer), in 100-byte chunks. */
export function putChunked(url: string, size: number, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(100, size - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(7));
    },
  });
  return putBody(url, body, headers);
}

/** PUT image data as application/octet-stream; the answer as {@link answerOf} reads it. */
async function putBody(url: string, body: BodyInit, headers: Record<string, string>): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json', ...headers },
    body,
    // A stream body needs it; a byte body ignores it.
    duplex: 'half',
    signal: AbortSignal.timeout(60_000),
  } as RequestInit);
  return answerOf(res);
}

/** An upload's answer: the body parsed as JSON when it is, else kept as text. */
export async function answerOf(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : text;
  } catch {
    // keep text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** GET raw bytes (an image download). */
export async function getBytes(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** A one-line description of an answer for assertion messages. */
export function describe(r: { status: number; text?: string }): string {
  const text = r.text ?? '';
  return `HTTP ${r.status}: ${text.length > 500 ? `${text.slice(0, 500)}…` : text}`;
}
