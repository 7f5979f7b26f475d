/**
 * The S3 backend (Glance's `s3` store) over @aws-sdk/client-s3, for AWS and S3-compatible
 * services such as Swift's s3api. One object per image, `<bucket>/<image id>`; objects of
 * `s3_store_large_object_size` MB and more go up as multipart uploads of
 * `s3_store_large_object_chunk_size` MB parts, `s3_store_thread_pools` at a time (s3-upload.ts).
 *
 * Locations keep glance_store's form but without credentials (s3-location.ts); every request is
 * signed with the configured keys, so access keys with a `:` work.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { addAbortSignal } from 'node:stream';
import type { Readable } from 'node:stream';
import type { BucketLocationConstraint, GetObjectCommandOutput, ListMultipartUploadsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { BlobDriver, ReadResult, StagingObject, WriteResult } from '../blob-driver.js';
import type { ByteRange } from '../../domain/ports.js';
import { Invalid, NotFound, RangeNotSatisfiable, StorageFull } from '../../domain/errors.js';
import type { S3DriverOptions } from '../store-options.js';
import { resolveS3Endpoint, type S3Endpoint } from './s3-endpoint.js';
import { formatS3Location, parseS3Location, s3Scheme } from './s3-location.js';
import { loadS3Sdk, type S3Sdk } from './s3-sdk.js';
import { uploadToS3 } from './s3-upload.js';

const MiB = 1024 * 1024;
/** S3's (and Swift s3api's `min_segment_size`) smallest part but the last; Glance refuses chunks below it. */
const MIN_CHUNK_MB = 5;

/**
 * Creates a driver storing blobs in one S3 bucket.
 *
 * @example
 * const driver = createS3Driver({ ...s3StoreOptions, storeId: 's3', onCleanupError });
 * @throws Invalid for options Glance refuses at start (missing host, keys or bucket; chunk below
 *   5 MB; thread pools below 1; a bucket virtual addressing cannot name).
 */
export function createS3Driver(
  opts: S3DriverOptions,
): BlobDriver & { readonly endpoint: S3Endpoint; readonly schemes: readonly string[] } {
  for (const name of ['s3_store_host', 's3_store_access_key', 's3_store_secret_key', 's3_store_bucket'] as const) {
    if (!opts[name]) throw new Invalid(`Could not find ${name} in configuration options.`);
  }
  if (!(opts.s3_store_large_object_size > 0)) {
    throw new Invalid('s3_store_large_object_size must be a positive number of MB');
  }
  if (!(opts.s3_store_large_object_chunk_size >= MIN_CHUNK_MB)) {
    throw new Invalid(`s3_store_large_object_chunk_size must be at least ${MIN_CHUNK_MB} MB.`);
  }
  if (!(Number.isInteger(opts.s3_store_thread_pools) && opts.s3_store_thread_pools > 0)) {
    throw new Invalid(`s3_store_thread_pools must be a positive integer. ${opts.s3_store_thread_pools}`);
  }
  const bucket = opts.s3_store_bucket;
  const endpoint = resolveS3Endpoint({
    host: opts.s3_store_host,
    bucket,
    urlFormat: opts.s3_store_bucket_url_format,
    regionName: opts.s3_store_region_name,
  });
  const partSize = opts.s3_store_large_object_chunk_size * MiB;
  const threshold = opts.s3_store_large_object_size * MiB;
  const concurrency = opts.s3_store_thread_pools;
  const reportCleanup = opts.onCleanupError;
  const storeName = opts.storeId;
  // Keep-alive sockets, enough for every part of an upload in flight plus reads.
  const sockets = { keepAlive: true, maxSockets: Math.max(50, concurrency * 2) };
  // The SDK warns on every start that its releases after January 2027 need Node 22; Iris
  // supports Node 20 and pins the SDK, so that warning would only alarm operators.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const clientOptions = {
    endpoint: endpoint.url,
    region: endpoint.region,
    forcePathStyle: endpoint.addressing === 'path',
    credentials: { accessKeyId: opts.s3_store_access_key, secretAccessKey: opts.s3_store_secret_key },
    // Swift's s3api (2.30) refuses the aws-chunked bodies the SDK sends for default checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpAgent: new HttpAgent(sockets),
      httpsAgent: new HttpsAgent(
        opts.s3_store_cacert ? { ...sockets, ca: readFileSync(opts.s3_store_cacert) } : sockets,
      ),
    },
  } as const;
  let connection: Promise<{ client: S3Client; sdk: S3Sdk }> | undefined;
  /** The client, made on first use (the SDK is loaded then: s3-sdk.ts). */
  function s3(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    connection ??= loadS3Sdk().then((sdk) => ({ client: new sdk.S3Client(clientOptions), sdk }));
    return connection;
  }

  let bucketReady: Promise<void> | undefined;
  /** Glance checks the bucket before each add; Iris once per process, again after a failure. */
  function ensureBucket(): Promise<void> {
    bucketReady ??= (async () => {
      const { client, sdk } = await s3();
      try {
        await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!opts.s3_store_create_bucket_on_put) {
        // A store misconfiguration, not the caller's fault: Glance raises a BackendException,
        // which its upload answers with 500, and so does Iris.
        throw new Error(
          `The bucket ${bucket} does not exist in S3. Please set the s3_store_create_bucket_on_put option to add bucket to S3 automatically.`,
        );
      }
      try {
        await client.send(
          new sdk.CreateBucketCommand({
            Bucket: bucket,
            ...(endpoint.locationConstraint
              ? { CreateBucketConfiguration: { LocationConstraint: endpoint.locationConstraint as BucketLocationConstraint } }
              : {}),
          }),
        );
      } catch (err) {
        // Another node (or writer) created it first: that is the outcome wanted.
        const name = (err as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
      }
    })().catch((err: unknown) => {
      bucketReady = undefined;
      throw err;
    });
    return bucketReady;
  }

  /** The object key behind a location, or Invalid when the location is not in this store's bucket. */
  function keyOf(location: string): string {
    const loc = parseS3Location(location);
    if (
      loc.protocol !== endpoint.protocol ||
      loc.service.toLowerCase() !== endpoint.service.toLowerCase() ||
      loc.bucket !== bucket ||
      !isSafeKey(loc.key)
    ) {
      throw new Invalid(`Location is not in the ${storeName} store`);
    }
    return loc.key;
  }

  async function write(
    key: string,
    source: Readable,
    { signal }: { readonly signal?: AbortSignal } = {},
  ): Promise<WriteResult> {
    if (!isSafeKey(key)) throw new Invalid(`Invalid blob key: ${JSON.stringify(key)}`);
    signal?.throwIfAborted();
    await ensureBucket();
    const { client, sdk } = await s3();
    try {
      const { bytes } = await uploadToS3({
        client,
        sdk,
        bucket,
        key,
        source,
        partSize,
        multipartThreshold: threshold,
        concurrency,
        signal,
        onCleanupError: (message, error) => reportCleanup(message, error, { image: key, store: storeName }),
      });
      return { location: formatS3Location({ ...endpoint, bucket, key }), bytes };
    } catch (err) {
      throw toStorageError(err);
    }
  }

  async function read(
    location: string,
    { range, signal }: { readonly range?: ByteRange; readonly signal?: AbortSignal } = {},
  ): Promise<ReadResult> {
    const key = keyOf(location);
    signal?.throwIfAborted();
    if (range && (range.start < 0 || range.start > range.end)) {
      throw new RangeNotSatisfiable(`Range ${range.start}-${range.end} is invalid`, await sizeOf(key));
    }
    let answer: GetObjectCommandOutput;
    const { client, sdk } = await s3();
    try {
      answer = await client.send(
        new sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
        { abortSignal: signal },
      );
    } catch (err) {
      if (isNotFound(err)) throw new NotFound(`Image data not found in the ${storeName} store`, { cause: err });
      if (statusOf(err) === 416 && range) {
        const size = await sizeOf(key);
        throw new RangeNotSatisfiable(`Range ${range.start}-${range.end} is outside 0-${size - 1}`, size);
      }
      throw err;
    }
    const stream = answer.Body as Readable | undefined;
    if (!stream) throw new Error('S3 GetObject answered without a body');
    const size = totalSize(answer);
    if (signal) addAbortSignal(signal, stream);
    return { stream, size };
  }

  async function sizeOf(key: string): Promise<number> {
    const { client, sdk } = await s3();
    try {
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) throw new NotFound(`Image data not found in the ${storeName} store`, { cause: err });
      throw err;
    }
  }

  async function remove(location: string): Promise<void> {
    const key = keyOf(location);
    const { client, sdk } = await s3();
    try {
      // S3 answers 204 for a missing key too: idempotent without a HEAD first.
      await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      // A bucket that is gone holds no object either.
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Unfinished multipart uploads in the bucket: writes in flight and writes cut off by a crash.
   * Dated by their last part (ListParts), so a long upload in progress is not taken for abandoned.
   */
  async function listStaging(): Promise<StagingObject[]> {
    const staging: StagingObject[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    const { client, sdk } = await s3();
    for (;;) {
      let page: ListMultipartUploadsCommandOutput;
      try {
        page = await client.send(
          new sdk.ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (err) {
        if (isNotFound(err)) return staging;
        throw err;
      }
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId) continue;
        const modifiedAt = await lastActivity(upload.Key, upload.UploadId, upload.Initiated);
        if (modifiedAt) staging.push({ id: `${upload.Key}/${upload.UploadId}`, key: upload.Key, modifiedAt });
      }
      if (!page.IsTruncated) return staging;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** When an upload last received a part (else when it started); undefined once it is gone. */
  async function lastActivity(key: string, uploadId: string, initiated: Date | undefined): Promise<Date | undefined> {
    let latest = initiated?.getTime() ?? 0;
    let marker: string | undefined;
    const { client, sdk } = await s3();
    try {
      for (;;) {
        const page = await client.send(
          new sdk.ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
        );
        for (const part of page.Parts ?? []) latest = Math.max(latest, part.LastModified?.getTime() ?? 0);
        if (!page.IsTruncated || !page.NextPartNumberMarker) break;
        marker = page.NextPartNumberMarker;
      }
    } catch (err) {
      // Completed or aborted since it was listed: no longer staging.
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return new Date(latest);
  }

  async function removeStaging(id: string): Promise<void> {
    const slash = id.indexOf('/');
    const key = id.slice(0, slash);
    const uploadId = id.slice(slash + 1);
    if (slash <= 0 || !isSafeKey(key) || uploadId === '') throw new Invalid(`Not a staging object of the ${storeName} store`);
    const { client, sdk } = await s3();
    try {
      await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  return {
    // glance_store writes `s3://` for an http endpoint and `s3+https://` for https, and reads
    // `s3+http://` as http too.
    scheme: s3Scheme(endpoint.protocol),
    schemes: endpoint.protocol === 'https' ? ['s3+https'] : ['s3', 's3+http'],
    endpoint,
    capabilities: { writable: true, rangedReads: true },
    write,
    read,
    delete: remove,
    listStaging,
    removeStaging,
    // The bucket answers; a missing one is fine when the first put creates it.
    async probe(signal) {
      const { client, sdk } = await s3();
      try {
        await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
      } catch (err) {
        if (isNotFound(err) && opts.s3_store_create_bucket_on_put) return;
        throw err;
      }
    },
  };
}

/**
 * A key the store accepts: one path segment of URL-safe characters, so it reads back unchanged
 * from a location (Glance does not percent-encode keys; image ids are UUIDs).
 */
function isSafeKey(key: string): boolean {
  return /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$/.test(key);
}

/** The whole object's size: from Content-Range on a 206, else Content-Length. */
function totalSize(answer: GetObjectCommandOutput): number {
  const total = /\/(\d+)\s*$/.exec(answer.ContentRange ?? '')?.[1];
  if (total !== undefined) return Number(total);
  return answer.ContentLength ?? 0;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return (
    name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NoSuchUpload' || name === 'NotFound' || statusOf(err) === 404
  );
}

/** Quota answers become the domain's StorageFull (Glance answers those with 413). */
function toStorageError(err: unknown): unknown {
  const name = (err as { name?: string } | undefined)?.name;
  if (name === 'QuotaExceeded' || name === 'EntityTooLarge' || statusOf(err) === 507) {
    return new StorageFull('There is not enough space in the S3 store', { cause: err });
  }
  return err;
}
