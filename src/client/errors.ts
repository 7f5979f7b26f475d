/**
 * The errors the Iris SDK throws. Every one is an `IrisClientError`, so a caller can catch the
 * SDK's failures apart from its own; the subclasses say what went wrong:
 *
 * - `IrisApiError`: the server answered with an HTTP error (status, Glance's message, request id);
 * - `IrisConnectionError`: no usable answer at all (refused, reset, timed out);
 * - `IrisIntegrityError`: downloaded bytes do not match the image's checksum or multihash;
 * - `IrisClientError` itself: a local problem (bad options, no endpoint in the catalog, no data).
 */

/** What kind of local failure an `IrisClientError` reports; stable, for programs to test. */
export type IrisClientErrorCode =
  | 'ApiError'
  | 'ConnectionError'
  | 'IntegrityError'
  | 'InvalidOptions'
  | 'NoEndpoint'
  | 'NoImageData';

/** Base class of everything the SDK throws on purpose. */
export class IrisClientError extends Error {
  override readonly name: string = 'IrisClientError';
  readonly code: IrisClientErrorCode;

  constructor(code: IrisClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Fields of an HTTP error answer, as the transport read them. */
export interface ApiErrorDetails {
  readonly status: number;
  /** Glance's message from its fault body (`<br />` padding removed), or the status text. */
  readonly message: string;
  /** The reason phrase Glance puts in `title`/`code` (e.g. "Not Found"). */
  readonly title: string;
  /** `x-openstack-request-id` of the answer, when the server sent one. */
  readonly requestId?: string;
  readonly method: string;
  readonly url: string;
  /** The raw body (at most a few KiB), for debugging. */
  readonly body: string;
  /** The `Retry-After` header of a 503 or 429, if any. */
  readonly retryAfter?: string;
}

/**
 * The server answered with status >= 400. `message` is Glance's own text, so
 * `err.message` reads like glanceclient's "HTTP 404 Not Found: No image found with ID …"
 * without the prefix; `toString()` adds it.
 */
export class IrisApiError extends IrisClientError {
  override readonly name = 'IrisApiError';
  readonly status: number;
  readonly title: string;
  readonly requestId: string | undefined;
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly retryAfter: string | undefined;

  constructor(details: ApiErrorDetails) {
    super('ApiError', details.message);
    this.status = details.status;
    this.title = details.title;
    this.requestId = details.requestId;
    this.method = details.method;
    this.url = details.url;
    this.body = details.body;
    this.retryAfter = details.retryAfter;
  }

  /** glanceclient's wording: `HTTP 404 Not Found: No image found with ID x`. */
  override toString(): string {
    const head = `HTTP ${this.status}${this.title ? ` ${this.title}` : ''}`;
    return this.message && this.message !== this.title ? `${head}: ${this.message}` : head;
  }
}

/** No HTTP answer: connection refused or reset, DNS failure, timeout, aborted. */
export class IrisConnectionError extends IrisClientError {
  override readonly name = 'IrisConnectionError';
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, message: string, options?: { cause?: unknown }) {
    super('ConnectionError', message, options);
    this.method = method;
    this.url = url;
  }
}

/** Downloaded data did not match what the image record promises. */
export class IrisIntegrityError extends IrisClientError {
  override readonly name = 'IrisIntegrityError';
  /** `md5`, the multihash algorithm (e.g. `sha512`), or `size`. */
  readonly check: string;
  readonly expected: string;
  readonly actual: string;

  constructor(check: string, expected: string, actual: string) {
    super(
      'IntegrityError',
      check === 'size'
        ? `Corrupt image download: got ${actual} bytes, expected ${expected}`
        : `Corrupt image download: ${check} was ${actual}, expected ${expected}`,
    );
    this.check = check;
    this.expected = expected;
    this.actual = actual;
  }
}
