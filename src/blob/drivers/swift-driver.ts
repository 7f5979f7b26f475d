/**
 * The Swift backend (Glance's `swift` store, single-tenant). Objects are named by the image id in
 * `swift_store_container` (or `<container>_<first N chars of the id>` with
 * `swift_store_multiple_containers_seed`), and located as glance_store locates them
 * (swift-location.ts), so a database carried over from Glance resolves here.
 *
 * Writes stream: an object of known size below `swift_store_large_object_size` goes in one PUT;
 * anything else (Glance's rule, and Glance's choice for a body of unknown size) as segments
 * `<id>-00001`, `<id>-00002`… of `swift_store_large_object_chunk_size` in the same container,
 * then a DLO manifest (`X-Object-Manifest: <container>/<id>-`) exactly as Glance writes it. Each
 * segment is streamed as it arrives, never buffered whole (Glance buffers segments; Iris does not
 * need to), and every PUT's ETag is checked against the md5 of the bytes sent, computed in the
 * same pass. Until the manifest exists the segments are staging objects (`listStaging`); any
 * failure or abort removes them.
 *
 * Reads honour ranges (DLO and SLO are resolved by Swift) and, with `swift_store_retry_get_count`,
 * resume a download that broke mid-way from the byte it reached. A token refused with 401 is
 * renewed once and the request retried (bodies already sent cannot be, so a segmented write
 * checks its token before each segment), and a token about to expire is renewed beforehand.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { BlobDriver, ReadResult, StagingObject, WriteResult } from '../blob-driver.js';
import type { ByteRange } from '../../domain/ports.js';
import { Invalid, NotFound, RangeNotSatisfiable, StorageFull } from '../../domain/errors.js';
import type { SwiftDriverOptions } from '../store-options.js';
import { checkCredentials, createSwiftAuth, type SwiftAuth, type SwiftCredentials, type SwiftSession } from './swift-auth.js';
import { inlineLocation, parseSwiftLocation, referenceLocation, SWIFT_SCHEMES } from './swift-location.js';
import { loadSwiftReferences } from './swift-references.js';

export { SWIFT_SCHEMES };

/**
 * What a test or a benchmark may set beyond Glance's options: segment sizes below Glance's 1 MB
 * unit (so the segment edges are cheap to exercise) and where log lines go.
 */
export interface SwiftDriverTuning {
  /** Overrides swift_store_large_object_size, in bytes. */
  readonly largeObjectBytes?: number;
  /** Overrides swift_store_large_object_chunk_size, in bytes. */
  readonly chunkBytes?: number;
  /** Retries, renewals, skipped references (default: nothing for info, a process warning for warn). */
  readonly logger?: SwiftLogger;
}

export interface SwiftLogger {
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
}

const LISTING_LIMIT = 10_000;
const DELETE_PARALLEL = 4;
const MB = 1024 * 1024;
// Glance names segments "%s-%05d": five digits, more past 99999.
const SEGMENT_SUFFIX = /-(\d{5,})$/;

const defaultLogger: SwiftLogger = {
  info: () => undefined,
  warn: (fields, message) => process.emitWarning(`${message} ${JSON.stringify(fields)}`, 'IrisSwiftWarning'),
};

/**
 * Creates a Swift driver. Reads the references file now, so a broken configuration fails at start.
 * @throws Invalid when a required option is missing or malformed.
 *
 * @example
 * const driver = createSwiftDriver({ authAddress: 'http://127.0.0.1:8080/auth/v1.0', authVersion: '1',
 *   user: 'test:tester', key: 'testing', defaultReference: 'ref1', container: 'glance',
 *   createContainerOnPut: true, largeObjectSize: 5 << 30, largeObjectChunkSize: 200 << 20 });
 */
export function createSwiftDriver(
  glance: SwiftDriverOptions,
  tuning: SwiftDriverTuning = {},
): BlobDriver & { readonly schemes: readonly string[] } {
  const log = tuning.logger ?? defaultLogger;
  const onCleanupError = glance.onCleanupError;
  const seed = glance.swift_store_multiple_containers_seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 32) {
    throw new Invalid('An integer value between 0 and 32 is required for swift_store_multiple_containers_seed.');
  }
  const opts = {
    container: glance.swift_store_container,
    largeObjectSize: tuning.largeObjectBytes ?? glance.swift_store_large_object_size * MB,
    largeObjectChunkSize: tuning.chunkBytes ?? glance.swift_store_large_object_chunk_size * MB,
    createContainerOnPut: glance.swift_store_create_container_on_put,
    defaultReference: glance.default_swift_reference,
  };
  if (!(opts.largeObjectChunkSize >= 1) || !(opts.largeObjectSize >= 1)) throw new Invalid('swift large object sizes must be positive');
  if (!opts.container || opts.container.includes('/')) throw new Invalid(`swift_store_container is not a container name: ${JSON.stringify(opts.container)}`);
  const retryGetCount = glance.swift_store_retry_get_count;

  // The references: from the file, or the one Glance builds from swift_store_auth_address/user/key.
  const references = new Map<string, SwiftCredentials>();
  const configFile = glance.swift_store_config_file;
  if (configFile !== null) {
    for (const [name, creds] of loadSwiftReferences(configFile, glance.swift_store_auth_version, (reference, missing) =>
      log.warn({ reference, missing, file: configFile }, 'Invalid format of swift store config: reference skipped'),
    )) {
      references.set(name, creds);
    }
  } else if (glance.swift_store_auth_address && glance.swift_store_user && glance.swift_store_key) {
    references.set(opts.defaultReference, {
      authAddress: glance.swift_store_auth_address,
      authVersion: glance.swift_store_auth_version,
      user: glance.swift_store_user,
      key: glance.swift_store_key,
      userDomainId: 'default',
      projectDomainId: 'default',
    });
  }
  const own = references.get(opts.defaultReference);
  if (own === undefined) throw new Invalid('A value for swift_store_auth_address is required.');
  for (const creds of references.values()) checkCredentials(creds);
  const useReferences = configFile !== null;

  let dispatcher: Dispatcher | undefined;
  if (glance.swift_store_auth_insecure) dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  else if (glance.swift_store_cacert !== null) dispatcher = new Agent({ connect: { ca: readFileSync(glance.swift_store_cacert) } });

  const auths = new Map<string, SwiftAuth>();
  function authFor(creds: SwiftCredentials): SwiftAuth {
    const id = JSON.stringify([creds.authAddress, creds.authVersion, creds.user, creds.key]);
    let auth = auths.get(id);
    if (auth === undefined) {
      auth = createSwiftAuth(creds, {
        region: glance.swift_store_region ?? undefined,
        endpointType: glance.swift_store_endpoint_type,
        serviceType: glance.swift_store_service_type,
        endpoint: glance.swift_store_endpoint ?? undefined,
        expireSoonSeconds: glance.swift_store_expire_soon_interval,
        dispatcher,
      });
      auths.set(id, auth);
    }
    return auth;
  }
  const ownAuth = authFor(own);
  // Auth addresses this store's credentials point at: an inline location elsewhere is not ours.
  const knownAddresses = new Map<string, SwiftCredentials>();
  for (const creds of references.values()) knownAddresses.set(normalizeAddress(creds.authAddress), creds);

  /** glance_store's get_container_name. */
  function containerFor(key: string): string {
    if (seed === 0) return opts.container;
    const id = key.toLowerCase();
    const dashes = id.slice(0, seed).split('-').length - 1;
    return `${opts.container}_${id.slice(0, seed + dashes)}`;
  }

  function isOurContainer(container: string): boolean {
    return container === opts.container || (seed > 0 && container.startsWith(`${opts.container}_`));
  }

  function locationOf(container: string, key: string): string {
    return useReferences ? referenceLocation(opts.defaultReference, container, key) : inlineLocation(own!.authAddress, own!.user, own!.key, container, key);
  }

  /** Where a location points and with what credentials; Invalid when it is not this store's. */
  function resolve(location: string): { auth: SwiftAuth; container: string; object: string } {
    const loc = parseSwiftLocation(location);
    let creds: SwiftCredentials | undefined;
    if (loc.kind === 'reference') {
      creds = references.get(loc.reference);
      if (creds === undefined) throw new Invalid('Badly formed Swift URI. Credentials not found for account reference');
    } else {
      if (loc.user === undefined || loc.key === undefined) throw new Invalid('Location is missing user:password information.');
      const known = knownAddresses.get(normalizeAddress(loc.authAddress));
      if (known === undefined) throw new Invalid(`Swift location outside this store (auth address ${loc.authAddress})`);
      // Glance authenticates with the location's own credentials, at the store's auth version.
      creds = { ...known, user: loc.user, key: loc.key };
    }
    if (!isOurContainer(loc.container)) throw new Invalid(`Swift location outside this store's containers: ${loc.container}`);
    if (!isSafeKey(loc.object)) throw new Invalid('Badly formed Swift URI');
    return { auth: authFor(creds), container: loc.container, object: loc.object };
  }

  // ---- HTTP ------------------------------------------------------------------------------

  interface CallOptions {
    readonly query?: Record<string, string>;
    readonly headers?: Record<string, string>;
    readonly body?: string | Buffer | Readable;
    readonly signal?: AbortSignal | undefined;
  }

  function urlOf(session: SwiftSession, container?: string, object?: string, query?: Record<string, string>): string {
    let url = session.storageUrl;
    if (container !== undefined) url += `/${encodeURIComponent(container)}`;
    if (object !== undefined) url += `/${encodeURIComponent(object)}`;
    if (query !== undefined) url += `?${new URLSearchParams(query).toString()}`;
    return url;
  }

  /**
   * One request with the session's token. A 401 renews the token and retries once, unless the
   * body was a stream (already spent): then the caller sees the 401.
   */
  async function call(
    auth: SwiftAuth,
    method: Dispatcher.HttpMethod,
    container: string | undefined,
    object: string | undefined,
    o: CallOptions = {},
  ): Promise<Dispatcher.ResponseData> {
    const send = async (session: SwiftSession) =>
      request(urlOf(session, container, object, o.query), {
        method,
        headers: { ...o.headers, 'x-auth-token': session.token },
        body: o.body,
        dispatcher,
        signal: o.signal,
      });
    const session = await auth.session(o.signal);
    const res = await send(session);
    if (res.statusCode !== 401) return res;
    auth.invalidate(session);
    if (o.body !== undefined && typeof o.body !== 'string' && !Buffer.isBuffer(o.body)) return res;
    await res.body.dump();
    log.info({ container, object, method }, 'Swift refused the token (401): authenticating again');
    return send(await auth.session(o.signal));
  }

  async function failure(res: Dispatcher.ResponseData, what: string): Promise<Error> {
    const text = (await res.body.text().catch(() => '')).slice(0, 200);
    if (res.statusCode === 413 || res.statusCode === 507) return new StorageFull(`Swift refused ${what}: ${res.statusCode} ${text}`);
    return new Error(`Swift ${what}: ${res.statusCode} ${text}`.trim());
  }

  async function ensureContainer(auth: SwiftAuth, container: string, signal?: AbortSignal): Promise<void> {
    const head = await call(auth, 'HEAD', container, undefined, { signal });
    await head.body.dump();
    if (head.statusCode === 204 || head.statusCode === 200) return;
    if (head.statusCode !== 404) throw await failure(head, `HEAD container ${container}`);
    if (!opts.createContainerOnPut) {
      throw new Error(
        `The container ${container} does not exist in Swift. Please set the swift_store_create_container_on_put option to add container to Swift automatically.`,
      );
    }
    log.info({ container }, 'Creating swift container');
    const put = await call(auth, 'PUT', container, undefined, { signal });
    if (put.statusCode !== 201 && put.statusCode !== 202) throw await failure(put, `PUT container ${container}`);
    await put.body.dump();
  }

  /** PUTs one object from `chunks`, hashing as it goes; checks Swift's ETag against that md5. */
  async function putObject(
    auth: SwiftAuth,
    container: string,
    name: string,
    chunks: AsyncIterable<Buffer>,
    signal: AbortSignal | undefined,
    headers: Record<string, string> = {},
  ): Promise<number> {
    const md5 = createHash('md5');
    let bytes = 0;
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        md5.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    }
    const res = await call(auth, 'PUT', container, name, { body: Readable.from(hashed(), { objectMode: false }), headers, signal });
    if (res.statusCode !== 201) throw await failure(res, `PUT ${container}/${name}`);
    await res.body.dump();
    const etag = String(res.headers.etag ?? '').replace(/"/g, '');
    const sent = md5.digest('hex');
    if (etag !== sent) {
      // Stored, but not what was sent: it must not stay.
      await deleteObject(auth, container, name).catch((e: unknown) =>
        onCleanupError('could not remove a swift object stored with a wrong ETag', e, { container, object: name }),
      );
      throw new Error(`Swift stored ${container}/${name} with ETag ${etag}, but the md5 of the bytes sent is ${sent}`);
    }
    return bytes;
  }

  async function deleteObject(auth: SwiftAuth, container: string, name: string, query?: Record<string, string>): Promise<void> {
    const res = await call(auth, 'DELETE', container, name, { query });
    if (res.statusCode !== 204 && res.statusCode !== 200 && res.statusCode !== 404) throw await failure(res, `DELETE ${container}/${name}`);
    await res.body.dump();
  }

  async function deleteAll(auth: SwiftAuth, container: string, names: readonly string[]): Promise<void> {
    const queue = [...names];
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: Math.min(DELETE_PARALLEL, queue.length) }, async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
          await deleteObject(auth, container, name).catch((e: unknown) => errors.push(e));
        }
      }),
    );
    if (errors.length > 0) throw errors[0];
  }

  interface Listed {
    readonly name: string;
    readonly last_modified: string;
  }

  /** Every object of `container` whose name starts with `prefix` ([] when the container is missing). */
  async function list(auth: SwiftAuth, container: string | undefined, prefix: string): Promise<Listed[]> {
    const out: Listed[] = [];
    let marker = '';
    for (;;) {
      const res = await call(auth, 'GET', container, undefined, {
        query: { format: 'json', prefix, limit: String(LISTING_LIMIT), ...(marker ? { marker } : {}) },
      });
      if (res.statusCode === 404) {
        await res.body.dump();
        return out;
      }
      if (res.statusCode === 204) {
        await res.body.dump();
        return out;
      }
      if (res.statusCode !== 200) throw await failure(res, `GET listing of ${container ?? 'the account'}`);
      const page = (await res.body.json()) as Listed[];
      out.push(...page);
      if (page.length < LISTING_LIMIT) return out;
      marker = page[page.length - 1]!.name;
    }
  }

  /** The segment names of `key` in `container` (Glance's `<key>-00001`…), by their number. */
  async function segmentsOf(auth: SwiftAuth, container: string, key: string): Promise<Listed[]> {
    return (await list(auth, container, `${key}-`)).filter((o) => segmentKey(o.name) === key);
  }

  // ---- write -----------------------------------------------------------------------------

  async function write(
    key: string,
    source: Readable,
    wo: { readonly signal?: AbortSignal; readonly sizeHint?: number } = {},
  ): Promise<WriteResult> {
    if (!isSafeKey(key)) throw new Invalid(`Invalid blob key: ${JSON.stringify(key)}`);
    const { signal, sizeHint: expectedSize } = wo;
    signal?.throwIfAborted();
    const container = containerFor(key);
    const reader = new SegmentReader(source, signal);
    const written: string[] = [];
    let committed = false;
    try {
      await ensureContainer(ownAuth, container, signal);
      let bytes: number;
      if (expectedSize !== undefined && expectedSize < opts.largeObjectSize) {
        // Glance's regular PUT: the size is known and small enough.
        bytes = await putObject(ownAuth, container, key, reader.take(Infinity), signal, { 'content-length': String(expectedSize) });
        written.push(key);
        // The PUT stops at the declared length; the source is still read to its end, so the
        // stages before it (hashing, size checks) finish, and fail the write if there is more.
        if (await reader.hasMore()) throw new Invalid('Image data is longer than the declared Content-Length');
        committed = true;
        await removeSegments(container, key, 0);
      } else {
        bytes = 0;
        while (await reader.hasMore()) {
          const name = segmentName(key, written.length + 1);
          // Between segments: a token about to expire, or revoked (401), is renewed here, before
          // the next segment's bytes are spent on a request that would be refused.
          if (written.length > 0) await checkToken(container, signal);
          written.push(name);
          bytes += await putObject(ownAuth, container, name, reader.take(opts.largeObjectChunkSize), signal);
        }
        if (written.length === 0) {
          await putObject(ownAuth, container, key, reader.take(0), signal, { 'content-length': '0' });
          committed = true;
          await removeSegments(container, key, 0);
        } else {
          // Segments of an earlier, longer write of this key would join the DLO: gone first.
          await removeSegments(container, key, written.length);
          signal?.throwIfAborted();
          const res = await call(ownAuth, 'PUT', container, key, {
            headers: { 'x-object-manifest': `${container}/${key}-`, 'content-length': '0' },
            body: '',
            signal,
          });
          if (res.statusCode !== 201) throw await failure(res, `PUT manifest ${container}/${key}`);
          await res.body.dump();
          committed = true;
        }
      }
      return { location: locationOf(container, key), bytes };
    } catch (error) {
      source.destroy();
      if (written.length > 0 && !committed) {
        await deleteAll(ownAuth, container, written).catch((e: unknown) =>
          onCleanupError('could not remove the segments of a failed swift write', e, { key, container, segments: written }),
        );
      }
      throw reader.sourceError ?? (signal?.aborted === true ? abortError(signal) : error);
    } finally {
      reader.close();
    }
  }

  /** A cheap authenticated request: renews the token if it is about to expire or was revoked. */
  async function checkToken(container: string, signal?: AbortSignal): Promise<void> {
    const res = await call(ownAuth, 'HEAD', container, undefined, { signal });
    await res.body.dump();
    if (res.statusCode >= 300) throw await failure(res, `HEAD container ${container}`);
  }

  /** Removes the segments of `key` numbered above `keep`. */
  async function removeSegments(container: string, key: string, keep: number): Promise<void> {
    const stale = (await segmentsOf(ownAuth, container, key)).filter((o) => segmentNumber(o.name) > keep).map((o) => o.name);
    if (stale.length > 0) await deleteAll(ownAuth, container, stale);
  }

  // ---- read ------------------------------------------------------------------------------

  async function get(auth: SwiftAuth, container: string, object: string, range: ByteRange | undefined, signal?: AbortSignal) {
    const headers: Record<string, string> = range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` };
    const res = await call(auth, 'GET', container, object, { headers, signal });
    if (res.statusCode === 404) {
      await res.body.dump();
      throw new NotFound(`Swift could not find object ${object}.`);
    }
    if (res.statusCode === 416) {
      await res.body.dump();
      const total = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
      throw new RangeNotSatisfiable(`Range ${range?.start}-${range?.end} not satisfiable for ${object}`, total ? Number(total[1]) : 0);
    }
    if (res.statusCode === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? '').trim());
      if (!m) {
        await res.body.dump();
        throw new Error(`Swift GET ${container}/${object}: 206 without a usable Content-Range`);
      }
      return { res, size: Number(m[3]), start: Number(m[1]), end: Number(m[2]) };
    }
    if (res.statusCode === 200) {
      const size = Number(res.headers['content-length']);
      if (range !== undefined && !(range.start === 0 && range.end === size - 1)) {
        await res.body.dump();
        throw new Error(`Swift GET ${container}/${object}: the range was ignored`);
      }
      return { res, size, start: 0, end: size - 1 };
    }
    throw await failure(res, `GET ${container}/${object}`);
  }

  async function read(location: string, ro: { readonly range?: ByteRange; readonly signal?: AbortSignal } = {}): Promise<ReadResult> {
    const { auth, container, object } = resolve(location);
    const { signal } = ro;
    const first = await get(auth, container, object, ro.range, signal);
    const { size, end } = first;
    const etag = first.res.headers.etag;
    const stream = Readable.from(
      (async function* () {
        let body = first.res.body;
        let at = first.start;
        let retries = 0;
        for (;;) {
          let broke: unknown;
          try {
            for await (const chunk of body) {
              at += (chunk as Buffer).length;
              yield chunk as Buffer;
            }
          } catch (error) {
            if (signal?.aborted === true) throw abortError(signal);
            broke = error;
          }
          if (at > end) return;
          broke ??= new Error(`Swift GET ${container}/${object} ended at byte ${at} of ${end + 1}`);
          if (retries >= retryGetCount) throw broke;
          retries += 1;
          log.warn(
            { container, object, retry: retries, of: retryGetCount, from: at, error: String(broke) },
            'Swift download broke: resuming with a range',
          );
          const again = await get(auth, container, object, { start: at, end }, signal);
          if (again.size !== size || again.start !== at || (etag !== undefined && again.res.headers.etag !== etag)) {
            await again.res.body.dump();
            throw new Error(`Swift object ${container}/${object} changed while it was read`, { cause: broke });
          }
          body = again.res.body;
        }
      })(),
      { objectMode: false },
    );
    return { stream, size };
  }

  // ---- delete ----------------------------------------------------------------------------

  async function del(location: string): Promise<void> {
    const { auth, container, object } = resolve(location);
    const head = await call(auth, 'HEAD', container, object);
    await head.body.dump();
    if (head.statusCode === 404) return;
    if (head.statusCode >= 300) throw await failure(head, `HEAD ${container}/${object}`);
    if (String(head.headers['x-static-large-object'] ?? '').toLowerCase() === 'true') {
      await deleteObject(auth, container, object, { 'multipart-manifest': 'delete' });
      return;
    }
    const manifest = head.headers['x-object-manifest'];
    // The manifest goes first: segments without one are staging leftovers a sweep can remove,
    // while a manifest without all its segments would serve a broken image.
    await deleteObject(auth, container, object);
    if (typeof manifest === 'string' && manifest.includes('/')) {
      const slash = manifest.indexOf('/');
      const segContainer = decodeURIComponent(manifest.slice(0, slash));
      const prefix = decodeURIComponent(manifest.slice(slash + 1));
      // Only a prefix that names this object: a manifest pointing at a whole container must not
      // take the container with it.
      if (!prefix.startsWith(object) || !isOurContainer(segContainer)) {
        log.warn({ container, object, manifest }, 'Swift manifest points outside the object: its segments were left');
        return;
      }
      const segments = await list(auth, segContainer, prefix);
      await deleteAll(
        auth,
        segContainer,
        segments.map((s) => s.name),
      );
    }
  }

  // ---- staging ---------------------------------------------------------------------------

  async function containersToSweep(): Promise<string[]> {
    if (seed === 0) return [opts.container];
    return (await list(ownAuth, undefined, `${opts.container}_`)).map((c) => c.name);
  }

  async function isCommittedManifest(container: string, key: string): Promise<boolean> {
    const head = await call(ownAuth, 'HEAD', container, key);
    await head.body.dump();
    if (head.statusCode === 404) return false;
    if (head.statusCode >= 300) throw await failure(head, `HEAD ${container}/${key}`);
    return head.headers['x-object-manifest'] === `${container}/${key}-`;
  }

  async function listStaging(): Promise<StagingObject[]> {
    const out: StagingObject[] = [];
    for (const container of await containersToSweep()) {
      const objects = await list(ownAuth, container, '');
      const names = new Set(objects.map((o) => o.name));
      const groups = new Map<string, number>();
      for (const o of objects) {
        const key = segmentKey(o.name);
        if (key === undefined) continue;
        const t = Date.parse(`${o.last_modified}Z`);
        groups.set(key, Math.max(groups.get(key) ?? 0, Number.isNaN(t) ? 0 : t));
      }
      for (const [key, t] of groups) {
        if (names.has(key) && (await isCommittedManifest(container, key))) continue;
        out.push({ id: `${container}/${key}`, key, modifiedAt: new Date(t) });
      }
    }
    return out;
  }

  async function removeStaging(id: string): Promise<void> {
    const slash = id.indexOf('/');
    const container = id.slice(0, slash);
    const key = id.slice(slash + 1);
    if (slash <= 0 || !isOurContainer(container) || !isSafeKey(key)) throw new Invalid(`Not a swift staging id: ${id}`);
    // Committed since it was listed: its segments are the image now.
    if (await isCommittedManifest(container, key)) return;
    await deleteAll(
      ownAuth,
      container,
      (await segmentsOf(ownAuth, container, key)).map((o) => o.name),
    );
  }

  return {
    scheme: useReferences ? 'swift+config' : own.authAddress.startsWith('http://') ? 'swift+http' : 'swift+https',
    schemes: SWIFT_SCHEMES,
    capabilities: { writable: true, rangedReads: true },
    write,
    read,
    delete: del,
    listStaging,
    removeStaging,
    // The account answers with a valid token (containers may be made on the first put).
    async probe(signal) {
      const res = await call(ownAuth, 'HEAD', undefined, undefined, { signal });
      await res.body.dump();
      if (res.statusCode >= 300) throw await failure(res, 'HEAD account');
    },
  };
}

/** Reads a source in segments: `take(n)` yields up to n bytes, splitting a chunk at the edge. */
class SegmentReader {
  sourceError: unknown;
  private readonly it: AsyncIterator<unknown>;
  private pending: Buffer | undefined;
  private done = false;
  private readonly aborted: Promise<never> | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly source: Readable,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.it = source[Symbol.asyncIterator]();
    if (signal !== undefined) {
      let reject!: (e: unknown) => void;
      this.aborted = new Promise<never>((_, r) => (reject = r));
      this.aborted.catch(() => undefined);
      this.onAbort = () => reject(abortError(signal));
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  private async pull(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.pending !== undefined) {
        const p = this.pending;
        this.pending = undefined;
        return p;
      }
      if (this.done) return undefined;
      let r: IteratorResult<unknown>;
      try {
        // A stalled source must not hold an aborted write: the abort wins the race.
        r = await (this.aborted === undefined ? this.it.next() : Promise.race([this.it.next(), this.aborted]));
      } catch (error) {
        if (this.signal?.aborted !== true) this.sourceError = error;
        throw error;
      }
      if (r.done === true) {
        this.done = true;
        return undefined;
      }
      const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      if (chunk.length > 0) return chunk;
    }
  }

  async hasMore(): Promise<boolean> {
    const chunk = await this.pull();
    if (chunk === undefined) return false;
    this.pending = chunk;
    return true;
  }

  async *take(limit: number): AsyncGenerator<Buffer> {
    let sent = 0;
    while (sent < limit) {
      const chunk = await this.pull();
      if (chunk === undefined) return;
      if (chunk.length > limit - sent) {
        this.pending = chunk.subarray(limit - sent);
        yield chunk.subarray(0, limit - sent);
        return;
      }
      sent += chunk.length;
      yield chunk;
    }
  }

  close(): void {
    if (this.onAbort !== undefined) this.signal?.removeEventListener('abort', this.onAbort);
    if (!this.done && !this.source.destroyed) this.source.destroy();
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return Object.assign(new Error('The operation was aborted', { cause: reason }), { name: 'AbortError' });
}

function segmentName(key: string, n: number): string {
  return `${key}-${String(n).padStart(5, '0')}`;
}

function segmentKey(name: string): string | undefined {
  const m = SEGMENT_SUFFIX.exec(name);
  return m === null ? undefined : name.slice(0, m.index);
}

function segmentNumber(name: string): number {
  const m = SEGMENT_SUFFIX.exec(name);
  return m === null ? 0 : Number(m[1]);
}

/** A single path segment Swift accepts as (part of) an object name. */
function isSafeKey(key: string): boolean {
  return key.length > 0 && Buffer.byteLength(key) <= 1000 && key !== '.' && key !== '..' && !/[/\0]/.test(key);
}

function normalizeAddress(address: string): string {
  return address.replace(/\/+$/, '').toLowerCase();
}
