/**
 * One HTTP exchange over undici, nothing more: no auth, no retries. It turns a transport
 * failure into `IrisConnectionError`, an answer >= 400 into `IrisApiError` (body read, Glance's
 * message and request id extracted), and reports both directions to the debug sink.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { IrisApiError, IrisConnectionError } from './errors.js';
import { faultText } from './fault-message.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpCall {
  readonly method: HttpMethod;
  /** Absolute URL. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | Readable | AsyncIterable<Uint8Array>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as a stream; the caller must consume or dump it. */
  readonly body: Dispatcher.ResponseData['body'];
  readonly requestId: string | undefined;
}

export interface HttpCallContext {
  readonly dispatcher: Dispatcher;
  readonly debug?: (line: string) => void;
}

/** Error bodies are read into memory for the message; cap them so a huge page cannot hurt. */
const ERROR_BODY_CAP = 64 * 1024;

const SECRET_HEADERS: ReadonlySet<string> = new Set(['x-auth-token', 'x-subject-token', 'authorization']);

/** How a secret header is shown in debug output: a digest, as glanceclient's `{SHA1}…`. */
function redact(name: string, value: string): string {
  if (!SECRET_HEADERS.has(name.toLowerCase())) return value;
  return `{SHA256}${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

export function headerValue(headers: HttpAnswer['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads at most `cap` bytes of a body, then discards the rest. */
async function readCapped(body: Readable, cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size < cap) chunks.push(buf.subarray(0, cap - size));
    size += buf.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What to call a failed connection in one line, from undici's and node's error shapes. */
function describeFailure(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 3 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    const text = typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
    if (text && !parts.includes(text)) parts.push(text);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(err);
}

/**
 * Sends one request. Resolves with the answer when the status is below 400 (the body still
 * unread); rejects with `IrisApiError` otherwise, or `IrisConnectionError` when no answer came.
 *
 * @example
 *   const answer = await httpCall(ctx, { method: 'GET', url: `${base}/versions`, headers: {}, timeoutMs: 5000 });
 *   const doc = await answer.body.json();
 */
export async function httpCall(ctx: HttpCallContext, call: HttpCall): Promise<HttpAnswer> {
  const started = Date.now();
  if (ctx.debug !== undefined) {
    const headerText = Object.entries(call.headers)
      .map(([k, v]) => ` -H "${k}: ${redact(k, v)}"`)
      .join('');
    let bodyText = '';
    if (typeof call.body === 'string') {
      // Keystone password requests carry the password in the body.
      const shown = call.body.replace(/("password"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"***"');
      bodyText = ` -d '${shown.length > 2000 ? `${shown.slice(0, 2000)}…` : shown}'`;
    } else if (call.body !== undefined) bodyText = ' -d <binary data>';
    ctx.debug(`REQ: curl -g -i -X ${call.method} ${call.url}${headerText}${bodyText}`);
  }
  let res: Dispatcher.ResponseData;
  try {
    res = await request(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body as Dispatcher.DispatchOptions['body'],
      dispatcher: ctx.dispatcher,
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
      signal: call.signal,
    });
  } catch (err) {
    if (call.signal?.aborted) throw call.signal.reason ?? err;
    ctx.debug?.(`RESP: ${call.method} ${call.url} failed after ${Date.now() - started} ms: ${describeFailure(err)}`);
    throw new IrisConnectionError(
      call.method,
      call.url,
      `Unable to reach ${new URL(call.url).origin} (${call.method} ${call.url}): ${describeFailure(err)}`,
      { cause: err },
    );
  }
  const requestId = headerValue(res.headers, 'x-openstack-request-id');
  if (ctx.debug !== undefined) {
    const headerText = Object.entries(res.headers)
      .map(([k, v]) => `${k}: ${redact(k, Array.isArray(v) ? v.join(', ') : String(v))}`)
      .join('; ');
    ctx.debug(`RESP: [${res.statusCode}] ${call.method} ${call.url} in ${Date.now() - started} ms; ${headerText}`);
  }
  if (res.statusCode < 400) {
    return { status: res.statusCode, headers: res.headers, body: res.body, requestId };
  }
  let text = '';
  try {
    text = await readCapped(res.body, ERROR_BODY_CAP);
  } catch {
    // the server hung up mid-way through its error page; the status alone still says enough
  }
  if (ctx.debug !== undefined && text !== '') ctx.debug(`RESP BODY: ${text.length > 2000 ? `${text.slice(0, 2000)}…` : text}`);
  const fault = faultText(text, res.statusCode, res.statusText);
  throw new IrisApiError({
    status: res.statusCode,
    message: fault.message,
    title: fault.title ?? res.statusText,
    requestId,
    method: call.method,
    url: call.url,
    body: text,
    retryAfter: headerValue(res.headers, 'retry-after'),
  });
}
