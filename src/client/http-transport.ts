/**
 * Requests to the Images API as the SDK's methods need them: the endpoint and credentials from
 * the AuthProvider, `Accept: application/json` so Glance's faults come as JSON, retries with
 * backoff for idempotent calls only, and one token renewal when the service answers 401.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { AuthProvider } from './auth-provider.js';
import { IrisApiError, IrisConnectionError } from './errors.js';
import { httpCall, type HttpAnswer, type HttpMethod } from './http-call.js';
import { backoffDelay, isRetryableError, isRetryableStatus } from './retry-policy.js';

export interface TransportRequest {
  readonly method: HttpMethod;
  /** Path under the endpoint, e.g. `/v2/images` (may carry a query, as Glance's `next` links do). */
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON with `Content-Type: application/json` unless `contentType` says otherwise. */
  readonly json?: unknown;
  /** Raw body (an upload); excludes `json`. */
  readonly body?: Uint8Array | Readable | AsyncIterable<Uint8Array>;
  readonly contentType?: string;
  /**
   * May this request be sent again after a connection failure or a 502/503/504? Only for
   * calls whose repetition cannot do anything twice (GET, HEAD, tag PUT, DELETE).
   */
  readonly idempotent: boolean;
  readonly signal?: AbortSignal;
}

export interface Transport {
  /** The answer with its body unread (a download), or a rejection with an SDK error. */
  send(req: TransportRequest): Promise<HttpAnswer>;
  /** The answer's JSON body. */
  json<T>(req: TransportRequest): Promise<T>;
  /** The answer, body discarded (204s and the like). */
  discard(req: TransportRequest): Promise<HttpAnswer>;
  /** The base URL the requests go to (after authentication, for catalog-based endpoints). */
  endpoint(signal?: AbortSignal): Promise<string>;
}

export interface TransportDeps {
  readonly auth: AuthProvider;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly userAgent: string;
  readonly debug?: (line: string) => void;
}

function replayable(body: TransportRequest['body']): boolean {
  return body === undefined || body instanceof Uint8Array;
}

/** The transport every API module uses. */
export function createTransport(deps: TransportDeps): Transport {
  const ctx = { dispatcher: deps.dispatcher, debug: deps.debug };

  async function once(req: TransportRequest, payload: string | TransportRequest['body']): Promise<HttpAnswer> {
    const base = await deps.auth.endpoint(req.signal);
    const url = new URL(base + req.path);
    req.query?.forEach((value, key) => url.searchParams.append(key, value));
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': deps.userAgent,
      ...(await deps.auth.headers(req.signal)),
      ...req.headers,
    };
    if (payload !== undefined) headers['Content-Type'] = req.contentType ?? 'application/json';
    return httpCall(ctx, { method: req.method, url: url.toString(), headers, body: payload, timeoutMs: deps.timeoutMs, signal: req.signal });
  }

  async function send(req: TransportRequest): Promise<HttpAnswer> {
    const payload = req.json !== undefined ? JSON.stringify(req.json) : req.body;
    const canRepeat = replayable(req.body);
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(req, payload);
      } catch (err) {
        // A 401 means the request was refused before anything happened, so even a POST may
        // go again, once, with a fresh token (an unreplayable upload stream cannot).
        if (err instanceof IrisApiError && err.status === 401 && !renewed && canRepeat && deps.auth.invalidate()) {
          renewed = true;
          deps.debug?.('Token rejected (401): authenticating again');
          attempt--;
          continue;
        }
        const transient =
          (err instanceof IrisApiError && isRetryableStatus(err.status)) ||
          (err instanceof IrisConnectionError && isRetryableError(err.cause));
        if (!transient || !req.idempotent || !canRepeat || attempt >= deps.retries) throw err;
        const retryAfter = err instanceof IrisApiError ? err.retryAfter : undefined;
        const delay = backoffDelay(attempt, deps.retryDelayMs, retryAfter);
        deps.debug?.(`Retrying ${req.method} ${req.path} in ${delay} ms (attempt ${attempt + 2} of ${deps.retries + 1}): ${(err as Error).message}`);
        await sleep(delay, undefined, { signal: req.signal });
      }
    }
  }

  return {
    send,
    async json<T>(req: TransportRequest): Promise<T> {
      const answer = await send(req);
      const text = await answer.body.text();
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
    async discard(req: TransportRequest): Promise<HttpAnswer> {
      const answer = await send(req);
      await answer.body.dump();
      return answer;
    },
    endpoint: (signal) => deps.auth.endpoint(signal),
  };
}
