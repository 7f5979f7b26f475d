/**
 * When a failed call may be sent again, and how long to wait first. Only idempotent calls are
 * ever retried: repeating a POST could create a second image, and an upload's body stream is
 * gone once sent.
 */

/** Statuses that say "try again later" rather than "your request is wrong". */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** Error codes of node and undici for a connection that failed before or while answering. */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export const MAX_RETRY_DELAY_MS = 10_000;

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** True for a transport failure worth another attempt (not for an abort by the caller). */
export function isRetryableError(err: unknown): boolean {
  let e: unknown = err;
  // undici puts the socket error under `cause`
  for (let depth = 0; depth < 3 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Milliseconds to wait before attempt `attempt + 1` (attempt counts from 0): exponential from
 * `baseMs`, with "equal jitter" so many clients do not retry in step, capped; a server's
 * `Retry-After` (seconds) wins when it asks for longer, up to the cap.
 *
 * @example backoffDelay(0, 250) // between 125 and 250
 */
export function backoffDelay(attempt: number, baseMs: number, retryAfter?: string | null, random = Math.random): number {
  const exp = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** attempt);
  let delay = exp / 2 + (random() * exp) / 2;
  const asked = retryAfter !== undefined && retryAfter !== null ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(asked) && asked * 1000 > delay) delay = Math.min(MAX_RETRY_DELAY_MS, asked * 1000);
  return Math.round(delay);
}
