/**
 * The web-download import method's fetcher: opens an http(s) URI given by an API user and
 * hands back its body as a stream, without letting the user reach anything Iris should not.
 *
 * Every hop (the URI and each redirect target) is checked before a socket exists for it:
 * 1. the `[import_filtering_opts]` filter (`uri-filter.ts`), as Glance applies it;
 * 2. the host is resolved here, once, and EVERY address must be allowed (`address-check.ts`) and
 *    not an IP on `disallowed_hosts`; Glance instead picks the first acceptable address;
 * 3. the connection goes to those checked addresses only: the undici connector is handed the
 *    pinned IP, so no second resolution happens and DNS rebinding has nothing to rebind. For
 *    https the TLS server name and the certificate check still use the host name.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';
import { addAbortSignal, Readable } from 'node:stream';
import { Agent, buildConnector } from 'undici';
import type { Dispatcher } from 'undici';
import { Invalid, TooLarge } from '../domain/errors.js';
import { isAllowedAddress } from './address-check.js';
import type { ImportFilterOptions } from './uri-filter.js';
import { filterDeniesAddress, hostOf, validateImportUri } from './uri-filter.js';

/** Resolves a host name to all its addresses; `dns.promises.lookup` fits. */
export type HostLookup = (hostname: string, options: LookupAllOptions) => Promise<LookupAddress[]>;

export interface WebDownloadOptions {
  /** `[import_filtering_opts]`, applied to the URI and to every redirect target. */
  readonly filter: ImportFilterOptions;
  /**
   * Iris's `allow_private_networks`. false (the default to configure): only public addresses.
   * true: also private, CGNAT and reserved ranges (Glance's behaviour); never loopback,
   * link-local (cloud metadata), unspecified, multicast or broadcast.
   */
  readonly allowPrivateNetworks: boolean;
  /** Tests only: also allow 127.0.0.0/8 and ::1. */
  readonly allowLoopback?: boolean;
  /** Redirects followed before giving up; default 5. */
  readonly maxRedirects?: number;
  /** Largest body accepted, in bytes (`image_size_cap`). */
  readonly sizeCap: number;
  /** Aborting destroys the connection and the returned stream (with the abort reason). */
  readonly signal?: AbortSignal;
  /** Limit for resolving a host and, separately, for opening a connection; default 30 s. */
  readonly connectTimeoutMs?: number;
  /** Limit for the response headers once the request is sent; default 30 s. */
  readonly headersTimeoutMs?: number;
  /** Limit for the gap between two body chunks; default 300 s (undici's). */
  readonly bodyTimeoutMs?: number;
  /** Host name resolver; defaults to `dns.promises.lookup`. Injected by tests. */
  readonly lookup?: HostLookup;
  /**
   * More request headers (glance-download's X-Auth-Token), sent to the origin of `uri` only:
   * a redirect to another origin never carries them, so a credential cannot leak elsewhere.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WebDownload {
  /** The body, with backpressure; fails with TooLarge past `sizeCap`, Invalid on a broken transfer. */
  readonly stream: Readable;
  /** The final response's Content-Length, or null when it sent none (chunked). */
  readonly contentLength: number | null;
  /** The URI the body came from, after redirects. */
  readonly finalUri: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
const DEFAULT_BODY_TIMEOUT_MS = 300_000;
// Worth trying the next resolved address after these; not after a TLS or protocol failure.
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Opens `uri` for web-download: checks, follows redirects, and returns the body once the final
 * response's headers are in.
 *
 * @throws Invalid — the URI or a redirect target does not pass the filter, a host resolves to an
 *   address that is not allowed, the host cannot be resolved or reached, TLS verification fails,
 *   a timeout passes, too many redirects, or the final status is not 2xx.
 * @throws TooLarge — the Content-Length exceeds `sizeCap` (the stream itself fails with TooLarge
 *   as soon as more than `sizeCap` bytes arrive).
 * @throws the signal's abort reason when `signal` aborts first.
 * @example
 * const { stream, contentLength } = await openWebDownload('https://images.example/jammy.img', {
 *   filter: DEFAULT_IMPORT_FILTER,
 *   allowPrivateNetworks: false,
 *   sizeCap: 1_099_511_627_776,
 *   signal,
 * });
 * await pipeline(stream, hasher, sink, { signal });
 */
export async function openWebDownload(uri: string, opts: WebDownloadOptions): Promise<WebDownload> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  // Checked addresses by host name; the connector connects to nothing else.
  const pins = new Map<string, readonly string[]>();
  const agent = new Agent({
    connect: pinnedConnector(pins, connectTimeoutMs),
    headersTimeout: opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    bodyTimeout: opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
  });
  const closeAgent = () => void agent.destroy().catch(() => {});

  let current = uri;
  let origin = '';
  try {
    for (let redirects = 0; ; redirects++) {
      const url = checkUri(current, opts.filter, redirects > 0);
      if (redirects === 0) origin = url.origin;
      pins.set(hostOf(url), await checkedAddresses(url, opts, connectTimeoutMs));
      const response = await send(agent, url, signal, url.origin === origin ? opts.headers : undefined);
      const { statusCode } = response;

      if (REDIRECTS.has(statusCode)) {
        discard(response.body);
        const location = single(response.headers.location);
        if (location === undefined) {
          throw new Invalid(`web-download failed: ${shown(url.href)} answered ${statusCode} without a Location`);
        }
        if (redirects >= maxRedirects) {
          throw new Invalid(`web-download failed: more than ${maxRedirects} redirects from ${shown(uri)}`);
        }
        current = resolveLocation(location, url);
        continue;
      }
      if (statusCode < 200 || statusCode > 299) {
        discard(response.body);
        throw new Invalid(`web-download failed: ${shown(url.href)} answered HTTP ${statusCode}`);
      }

      const contentLength = parseLength(single(response.headers['content-length']));
      if (contentLength !== null && contentLength > opts.sizeCap) {
        discard(response.body);
        throw tooLarge(url, opts.sizeCap);
      }
      const stream = cappedBody(response.body, url, opts.sizeCap, signal, closeAgent);
      return { stream, contentLength, finalUri: url.href };
    }
  } catch (err) {
    closeAgent();
    throw err;
  }
}

// The filter first (Glance's message), then the only schemes this fetcher speaks.
function checkUri(uri: string, filter: ImportFilterOptions, isRedirect: boolean): URL {
  if (!validateImportUri(uri, filter)) {
    throw new Invalid(
      isRedirect
        ? `web-download redirect target does not pass filtering: ${shown(uri)}`
        : `URI for web-download does not pass filtering: ${shown(uri)}`,
    );
  }
  const url = new URL(uri);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Invalid(`web-download supports only http and https URIs: ${shown(uri)}`);
  }
  return url;
}

// Every address the host stands for, each one allowed; an IP literal stands for itself.
async function checkedAddresses(url: URL, opts: WebDownloadOptions, timeoutMs: number): Promise<string[]> {
  const host = hostOf(url);
  const literal = isIP(host) !== 0;
  const addresses = literal ? [host] : await resolveHost(host, opts.lookup ?? dnsLookup, timeoutMs, opts.signal);
  if (addresses.length === 0) throw new Invalid(`web-download failed: cannot resolve host ${host}`);
  if (addresses.some((address) => !isAllowedAddress(address, opts))) {
    throw new Invalid(
      literal
        ? `web-download refused: ${host} is not a public address`
        : `web-download refused: ${host} resolves to a non-public address`,
    );
  }
  // An IP literal on disallowed_hosts never gets here: the filter refused it already.
  if (addresses.some((address) => filterDeniesAddress(address, opts.filter))) {
    throw new Invalid(`web-download refused: ${host} resolves to a disallowed address`);
  }
  return addresses;
}

async function resolveHost(
  host: string,
  lookup: HostLookup,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const found = Promise.resolve().then(() => lookup(host, { all: true }));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const results = await new Promise<LookupAddress[]>((resolve, reject) => {
      timer = setTimeout(() => reject(new Invalid(`web-download failed: timed out resolving ${host}`)), timeoutMs);
      if (signal) {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) onAbort();
      }
      found.then(resolve, (err: unknown) =>
        reject(new Invalid(`web-download failed: cannot resolve host ${host}`, { cause: err })),
      );
    });
    return results.map((result) => result.address);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

async function send(
  agent: Agent,
  url: URL,
  signal: AbortSignal | undefined,
  extra: Readonly<Record<string, string>> | undefined,
): Promise<Dispatcher.ResponseData> {
  try {
    return await agent.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      // identity: the image's own bytes, not a compressed transfer of them.
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'iris-web-download', ...extra },
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw failure(err, url);
  }
}

/**
 * The connector the Agent uses: it connects only to the addresses checked for the host, in
 * order, moving on when one cannot be reached. undici passes `host` (name and port) along, so
 * the TLS server name and the certificate check stay on the host name, not the pinned IP.
 */
function pinnedConnector(pins: ReadonlyMap<string, readonly string[]>, timeout: number): buildConnector.connector {
  const connect = buildConnector({ timeout });
  return (options, callback) => {
    const addresses = pins.get(options.hostname) ?? [];
    const attempt = (index: number): void => {
      const address = addresses[index];
      if (address === undefined) {
        // Unreachable by construction: every origin is checked before it is requested.
        callback(new Error(`no checked address for ${options.hostname}`), null);
        return;
      }
      connect({ ...options, hostname: address }, (...result) => {
        const [err] = result;
        if (err && index + 1 < addresses.length && CONNECT_FAILURES.has(errorCode(err))) attempt(index + 1);
        else callback(...result);
      });
    };
    attempt(0);
  };
}

/**
 * The body as the caller sees it: backpressure passed through, the size cap enforced on the
 * bytes that actually arrive (a server may lie or send no Content-Length), and the connection
 * closed however the stream ends.
 */
function cappedBody(
  body: Readable,
  url: URL,
  cap: number,
  signal: AbortSignal | undefined,
  onClose: () => void,
): Readable {
  let received = 0;
  const out = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      body.resume();
    },
    destroy(err, callback) {
      body.destroy();
      onClose();
      callback(err);
    },
  });
  body.on('data', (chunk: Buffer) => {
    if (out.destroyed) return;
    received += chunk.length;
    if (received > cap) out.destroy(tooLarge(url, cap));
    else if (!out.push(chunk)) body.pause();
  });
  body.once('end', () => out.push(null));
  body.on('error', (err) => out.destroy(signal?.aborted ? signal.reason : failure(err, url)));
  if (signal) addAbortSignal(signal, out);
  return out;
}

// Why a request or a transfer failed, told without internals (the original is the cause).
function failure(err: unknown, url: URL): Invalid {
  const code = errorCode(err);
  const host = url.host;
  let reason: string;
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') reason = `timed out connecting to ${host}`;
  else if (code === 'UND_ERR_HEADERS_TIMEOUT') reason = `timed out waiting for ${shown(url.href)} to answer`;
  else if (code === 'UND_ERR_BODY_TIMEOUT') reason = `timed out reading ${shown(url.href)}`;
  else if (code === 'ECONNREFUSED') reason = `connection refused by ${host}`;
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') reason = `${host} is unreachable`;
  else if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) reason = `could not verify the TLS certificate of ${host}`;
  else if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) reason = `TLS handshake with ${host} failed`;
  else if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') reason = `${shown(url.href)} sent less data than announced`;
  else if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') {
    reason = `connection to ${host} closed unexpectedly`;
  } else reason = `could not fetch ${shown(url.href)}`;
  return new Invalid(`web-download failed: ${reason}`, { cause: err });
}

function tooLarge(url: URL, cap: number): TooLarge {
  return new TooLarge(`web-download of ${shown(url.href)} exceeds the image size cap of ${cap} bytes`);
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

// A redirect's body is of no use; destroying it also drops its connection.
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseLength(value: string | undefined): number | null {
  if (value === undefined || !/^[0-9]+$/.test(value)) return null;
  const length = Number(value);
  return Number.isSafeInteger(length) ? length : null;
}

/**
 * The redirect target as text for the filter. WHATWG resolution would normalise a new host
 * (`//2130706433/` becomes `//127.0.0.1/`) before the filter could refuse its spelling, so a
 * Location naming another authority is passed on as written; one naming the same authority
 * (a path, or the same origin spelled out) is resolved.
 */
function resolveLocation(location: string, base: URL): string {
  // What WHATWG ignores anyway: tabs and newlines anywhere, controls and spaces at the ends.
  const text = location.replace(/[\t\n\r]/g, '').replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  let resolved: URL;
  try {
    resolved = new URL(text, base);
  } catch {
    throw new Invalid(`web-download failed: ${shown(base.href)} redirected to an invalid URI`);
  }
  if (resolved.protocol === base.protocol && resolved.host === base.host) return resolved.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return text;
  if (text.startsWith('//')) return `${base.protocol}${text}`;
  // Another authority reached some other way (`\\host`, `/\\host`): not filtered faithfully.
  throw new Invalid(`web-download redirect target does not pass filtering: ${shown(resolved.href)}`);
}

// The URI for a message: credentials removed, length bounded.
function shown(uri: string): string {
  if (URL.canParse(uri)) {
    const url = new URL(uri);
    if (url.username !== '' || url.password !== '') {
      url.username = '';
      url.password = '';
      return url.href;
    }
  }
  return uri.length > 2048 ? `${uri.slice(0, 2048)}…` : uri;
}
