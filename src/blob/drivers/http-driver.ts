/**
 * The read-only http store (Glance's `http`): an image whose location is an http(s) URL is
 * streamed from that URL. As glance_store: redirects followed up to 5 times, credentials in the
 * URL sent as basic auth, a 404 is NotFound, `https_insecure` (default true),
 * `https_ca_certificates_file`, `http_proxy_information`; uploads are refused with Glance's
 * StoreAddDisabled (410). Beyond glance_store: ranged reads (a Range request, or skipping to
 * the range when the server ignores it), and every connection goes only to addresses the
 * web-download address policy allows (`address-check.ts`): the host is resolved and checked
 * inside the connector, and the socket opened to the checked address, so a redirect or a DNS
 * change cannot reach loopback or the metadata service.
 */
import { readFileSync } from 'node:fs';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';
import { addAbortSignal, Readable, Transform } from 'node:stream';
import { Agent, buildConnector, ProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
import type { BlobDriver, ReadResult, StagingObject, WriteResult } from '../blob-driver.js';
import type { HttpDriverOptions } from '../store-options.js';
import type { ByteRange } from '../../domain/ports.js';
import { Gone, Invalid, NotFound, RangeNotSatisfiable, ServiceUnavailable } from '../../domain/errors.js';
import { isAllowedAddress, type AddressPolicy } from '../../import/address-check.js';

/** Resolves a host to all its addresses (`dns.promises.lookup` fits); injected by tests. */
export type HostLookup = (hostname: string, options: LookupAllOptions) => Promise<LookupAddress[]>;

export interface HttpStoreDriverOptions extends HttpDriverOptions {
  /** Which addresses may be fetched from ([import_filtering_opts] allow_private_networks, allow_loopback). */
  readonly addressPolicy: AddressPolicy;
  /** Redirects followed; default 5 (glance_store's MAX_REDIRECTS). */
  readonly maxRedirects?: number;
  /** Limit for resolving plus connecting; default 30 s. */
  readonly connectTimeoutMs?: number;
  /** Limit for the response headers; default 30 s. */
  readonly headersTimeoutMs?: number;
  /** Limit for the gap between two body chunks; default 300 s. */
  readonly bodyTimeoutMs?: number;
  readonly lookup?: HostLookup;
}

/** The http driver, which can also tell an image's size without reading it (for the locations API). */
export interface HttpDriver extends BlobDriver {
  /** Size from a HEAD request (redirects followed), as glance_store's get_size. */
  size(location: string, opts?: { readonly signal?: AbortSignal }): Promise<number>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

const SCHEMES = ['http', 'https'] as const;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Glance's StoreAddDisabled, answered 410 by the image data API.
const ADD_DISABLED = 'Error in store configuration. Adding images to store is disabled.';

/**
 * Creates the http driver.
 * @example
 * const driver = createHttpDriver({ https_insecure: false, https_ca_certificates_file: null,
 *   http_proxy_information: {}, onCleanupError, storeId: 'http', addressPolicy: { allowPrivateNetworks: false } });
 * const { stream, size } = await driver.read('https://images.example/cirros.img', { range: { start: 0, end: 511 } });
 */
export function createHttpDriver(opts: HttpStoreDriverOptions): HttpDriver {
  const maxRedirects = opts.maxRedirects ?? 5;
  const lookup = opts.lookup ?? dnsLookup;
  const connectTimeout = opts.connectTimeoutMs ?? 30_000;
  const tls = tlsOptions(opts);
  const timeouts = { headersTimeout: opts.headersTimeoutMs ?? 30_000, bodyTimeout: opts.bodyTimeoutMs ?? 300_000 };
  const direct = new Agent({ connect: checkedConnector(opts.addressPolicy, lookup, connectTimeout, tls), ...timeouts });
  const proxies = new Map<string, ProxyAgent>();
  for (const [scheme, uri] of Object.entries(opts.http_proxy_information)) {
    proxies.set(`${scheme}:`, new ProxyAgent({ uri, requestTls: tls, connectTimeout, ...timeouts }));
  }

  /** Through a proxy the target is not connected to by Iris: its addresses are checked here. */
  async function dispatcherFor(url: URL): Promise<Dispatcher> {
    const proxy = proxies.get(url.protocol);
    if (proxy === undefined) return direct;
    await checkedAddresses(url.hostname, opts.addressPolicy, lookup);
    return proxy;
  }

  /** Sends `method` to `location`, following redirects; the final non-redirect response. */
  async function query(
    location: string,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    let url = parseLocation(location);
    for (let redirects = 0; ; redirects++) {
      const response = await send(url, method, headers, signal);
      if (!REDIRECTS.has(response.statusCode)) return response;
      discard(response.body);
      const target = single(response.headers.location);
      if (target === undefined) throw unavailable(`answered ${response.statusCode} without a Location`);
      if (redirects + 1 > maxRedirects) throw unavailable(`exceeded ${maxRedirects} redirects`);
      // Credentials stay with the location they came with, as requests drops them on redirect.
      url = parseLocation(new URL(target, url).href, 'redirect');
    }
  }

  async function send(
    url: URL,
    method: 'GET' | 'HEAD',
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    const auth = url.username !== '' || url.password !== '' ? { authorization: basicAuth(url) } : {};
    try {
      return await (await dispatcherFor(url)).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'iris-http-store', ...auth, ...headers },
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof Invalid || err instanceof ServiceUnavailable) throw err;
      // glance_store: a connection error is RemoteServiceUnavailable (503).
      throw unavailable('is unavailable', err);
    }
  }

  async function read(
    location: string,
    { range, signal }: { readonly range?: ByteRange; readonly signal?: AbortSignal } = {},
  ): Promise<ReadResult> {
    signal?.throwIfAborted();
    const headers: Record<string, string> = range ? { range: `bytes=${range.start}-${range.end}` } : {};
    const response = await query(location, 'GET', headers, signal);
    const { statusCode } = response;
    if (statusCode === 416) {
      discard(response.body);
      const total = totalOf(single(response.headers['content-range'])) ?? (await size(location, { signal }));
      throw new RangeNotSatisfiable(`Range ${range?.start}-${range?.end} is outside the image`, total);
    }
    if (statusCode >= 400 || (statusCode !== 200 && statusCode !== 206)) {
      discard(response.body);
      throw statusError(statusCode);
    }
    if (statusCode === 206 && range) {
      const total = totalOf(single(response.headers['content-range']));
      if (total === null) {
        discard(response.body);
        throw unavailable('answered a range without its total size');
      }
      return { stream: guarded(response.body, signal), size: total };
    }
    // A whole body: its length is the size (glance_store reads Content-Length, 0 when absent).
    const length = lengthOf(single(response.headers['content-length'])) ?? 0;
    if (!range) return { stream: guarded(response.body, signal), size: length };
    if (range.start >= length) {
      discard(response.body);
      throw new RangeNotSatisfiable(`Range ${range.start}-${range.end} is outside 0-${length - 1}`, length);
    }
    // The server ignored Range: skip to it here.
    const cut = slice(range.start, Math.min(range.end, length - 1));
    response.body.pipe(cut);
    // The rest of the body is not wanted: drop the connection once the range is delivered.
    cut.once('end', () => response.body.destroy());
    return { stream: guarded(cut, signal, response.body), size: length };
  }

  async function size(location: string, { signal }: { readonly signal?: AbortSignal } = {}): Promise<number> {
    const response = await query(location, 'HEAD', {}, signal);
    discard(response.body);
    if (response.statusCode >= 300) throw statusError(response.statusCode);
    return lengthOf(single(response.headers['content-length'])) ?? 0;
  }

  async function write(_key: string, source: Readable): Promise<WriteResult> {
    // Never read: the caller keeps the source (the blob store answers before reading it).
    void source;
    throw new Gone(ADD_DISABLED);
  }

  async function remove(location: string): Promise<void> {
    // glance_store's http store cannot delete; Glance deletes the image and leaves the remote data.
    parseLocation(location);
  }

  async function listStaging(): Promise<StagingObject[]> {
    return [];
  }

  async function removeStaging(): Promise<void> {
    throw new Invalid('The http store has no staging objects');
  }

  async function close(): Promise<void> {
    await Promise.all([direct.close(), ...[...proxies.values()].map((p) => p.close())]);
  }

  return {
    scheme: 'http',
    schemes: SCHEMES,
    capabilities: { writable: false, rangedReads: true },
    write,
    read,
    delete: remove,
    listStaging,
    removeStaging,
    size,
    close,
  };
}

/** An http(s) URL with a host, or Invalid (the location stays out of the message). */
function parseLocation(location: string, what: 'location' | 'redirect' = 'location'): URL {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new Invalid(what === 'location' ? 'Location is not an http(s) URL' : 'The http store was redirected to an invalid URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new Invalid(what === 'location' ? 'Location is not an http(s) URL' : 'The http store was redirected to a URL that is not http(s)');
  }
  return url;
}

function tlsOptions(opts: HttpDriverOptions): { rejectUnauthorized: boolean; ca?: string } {
  if (opts.https_insecure) return { rejectUnauthorized: false };
  if (opts.https_ca_certificates_file === null) return { rejectUnauthorized: true };
  return { rejectUnauthorized: true, ca: readFileSync(opts.https_ca_certificates_file, 'utf8') };
}

/** Every address of `host` (or the IP literal itself), all allowed by `policy`, else Invalid. */
async function checkedAddresses(host: string, policy: AddressPolicy, lookup: HostLookup): Promise<string[]> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const addresses = isIP(bare) !== 0 ? [bare] : (await lookup(bare, { all: true }).catch((err: unknown) => {
    throw unavailable(`cannot resolve ${bare}`, err);
  })).map((a) => a.address);
  if (addresses.length === 0 || addresses.some((address) => !isAllowedAddress(address, policy))) {
    throw new Invalid(`The http store refuses ${bare}: not a public address`);
  }
  return addresses;
}

/** Connects only to checked addresses of the host, resolved here so nothing resolves it twice. */
function checkedConnector(
  policy: AddressPolicy,
  lookup: HostLookup,
  timeout: number,
  tls: { rejectUnauthorized: boolean; ca?: string },
): buildConnector.connector {
  const connect = buildConnector({ timeout, ...tls });
  return (options, callback) => {
    checkedAddresses(options.hostname, policy, lookup).then(
      (addresses) => {
        // The TLS server name stays the host name: undici passes servername from options.
        connect({ ...options, hostname: addresses[0]!, servername: isIP(options.hostname) ? undefined : options.hostname }, callback);
      },
      (err: unknown) => callback(err as Error, null),
    );
  };
}

/** Bytes `start`..`end` (inclusive) of a whole body. */
function slice(start: number, end: number): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(start - at, 0);
      const to = Math.min(end + 1 - at, chunk.length);
      at += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (at > end) this.push(null);
      done();
    },
  });
}

/** The body with the read's signal attached; destroying it closes the response. */
function guarded(stream: Readable, signal: AbortSignal | undefined, source?: Readable): Readable {
  if (source) {
    // pipe() does not pass errors on.
    source.once('error', (err) => stream.destroy(err));
    stream.once('close', () => source.destroy());
  }
  if (signal) addAbortSignal(signal, stream);
  return stream;
}

function statusError(status: number): Error {
  if (status === 404) return new NotFound('HTTP datastore could not find image at URI.');
  return unavailable(`answered HTTP ${status}`);
}

function unavailable(what: string, cause?: unknown): ServiceUnavailable {
  return new ServiceUnavailable(`Remote server where the image is present ${what}`, { cause });
}

function basicAuth(url: URL): string {
  return `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
}

/** The total of `Content-Range: bytes a-b/total` or `bytes * /total`; null when absent or `*`. */
function totalOf(header: string | undefined): number | null {
  const match = header === undefined ? null : /\/(\d+)\s*$/.exec(header);
  return match ? lengthOf(match[1]) : null;
}

function lengthOf(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Drops a body nobody will read; an error while it is torn down has no one to tell. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}
