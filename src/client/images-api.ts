/** `client.images`: the image resource, its data, tags and lifecycle actions. */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IrisClientError, IrisConnectionError } from './errors.js';
import { headerValue } from './http-call.js';
import type { Transport } from './http-transport.js';
import { buildImagePatch } from './image-patch-builder.js';
import { importRequestBody } from './import-request.js';
import type { ImportOptions, Task } from './import-types.js';
import type {
  CreateImageInput,
  DownloadOptions,
  DownloadToFileResult,
  Image,
  ImageChanges,
  ImageDownload,
  ImagePage,
  JsonPatchOp,
  ListAllImagesOptions,
  ListImagesPageOptions,
  UpdateImageOptions,
  UploadOptions,
} from './image-types.js';
import { listImagesQuery } from './list-images-query.js';
import { verifyingStream } from './verifying-stream.js';

export const JSON_PATCH_MEDIA_TYPE = 'application/openstack-images-v2.1-json-patch';

/** Raw image data the SDK can upload. */
export type ImageData = Readable | Uint8Array | AsyncIterable<Uint8Array>;

export interface ImagesApi {
  /**
   * One page of images.
   *
   * @example const { images, next } = await client.images.list({ visibility: 'public', limit: 20 });
   */
  list(options?: ListImagesPageOptions): Promise<ImagePage>;
  /**
   * Every image matching the options, page after page, following Glance's `next` links.
   *
   * @example for await (const image of client.images.listAll({ tags: ['gold'], pageSize: 100 })) console.log(image.id);
   */
  listAll(options?: ListAllImagesOptions): AsyncIterable<Image>;
  /**
   * Creates an image record (status `queued`). Never retried: a repeat could create two.
   *
   * @example const image = await client.images.create({ name: 'cirros', disk_format: 'qcow2', container_format: 'bare' });
   */
  create(input: CreateImageInput, options?: { signal?: AbortSignal }): Promise<Image>;
  /**
   * The image with this id; IrisApiError 404 when it does not exist or is not visible.
   *
   * @example const image = await client.images.get(id);
   */
  get(id: string, options?: { signal?: AbortSignal }): Promise<Image>;
  /**
   * Sets attributes and custom properties and removes custom properties, as one JSON-patch
   * computed against the current record (fetched unless `options.current` is given).
   *
   * @example await client.images.update(id, { name: 'cirros-0.6', hw_disk_bus: 'virtio' }, { remove: ['os_distro'] });
   */
  update(id: string, changes: ImageChanges, options?: UpdateImageOptions): Promise<Image>;
  /**
   * Sends JSON-patch operations as they are.
   *
   * @example await client.images.patch(id, [{ op: 'replace', path: '/min_ram', value: 512 }]);
   */
  patch(id: string, ops: readonly JsonPatchOp[], options?: { signal?: AbortSignal }): Promise<Image>;
  /**
   * Deletes the image and its data.
   *
   * @example await client.images.delete(id);
   */
  delete(id: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Makes an active image's data unavailable to non-admins (`deactivated`).
   *
   * @example await client.images.deactivate(id);
   */
  deactivate(id: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Makes a deactivated image active again.
   *
   * @example await client.images.reactivate(id);
   */
  reactivate(id: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Adds a tag (a no-op when present).
   *
   * @example await client.images.addTag(id, 'gold');
   */
  addTag(id: string, tag: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Removes a tag; IrisApiError 404 when the image lacks it.
   *
   * @example await client.images.removeTag(id, 'gold');
   */
  removeTag(id: string, tag: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Uploads image data (queued → active). Streams; never retried, since a body stream cannot
   * be replayed. Give `size` to send a Content-Length (otherwise chunked).
   *
   * @example await client.images.upload(id, createReadStream('disk.img'), { size: 10485760 });
   */
  upload(id: string, data: ImageData, options?: UploadOptions): Promise<void>;
  /**
   * Uploads a local file, with its size as Content-Length when it is a regular file.
   *
   * @example await client.images.uploadFile(id, 'disk.img', { onProgress: (n, total) => console.log(n, total) });
   */
  uploadFile(id: string, path: string, options?: Omit<UploadOptions, 'size'> & { size?: number }): Promise<void>;
  /**
   * Starts a download. The returned stream verifies the md5 checksum and the multihash as it
   * flows and fails at its end with IrisIntegrityError on a mismatch; IrisClientError
   * `NoImageData` when the image has no data.
   *
   * @example
   *   const { stream } = await client.images.download(id);
   *   await pipeline(stream, createWriteStream('out.img')); // rejects on a corrupt download
   */
  download(id: string, options?: DownloadOptions): Promise<ImageDownload>;
  /**
   * Downloads to `path` through `path.part`, renamed into place only once every check passed;
   * on any failure the partial file is deleted and nothing is left at `path`.
   *
   * @example const { bytes } = await client.images.downloadToFile(id, 'out.img');
   */
  downloadToFile(id: string, path: string, options?: DownloadOptions): Promise<DownloadToFileResult>;
  /**
   * Uploads data to the staging area for a `glance-direct` import (queued → uploading).
   * Streams, never retried, like `upload`; `options.store` is ignored (stores are chosen at import).
   *
   * @example await client.images.stage(id, createReadStream('disk.img'), { size: 10485760 });
   */
  stage(id: string, data: ImageData, options?: UploadOptions): Promise<void>;
  /**
   * Stages a local file, with its size as Content-Length when it is a regular file.
   *
   * @example await client.images.stageFile(id, 'disk.img');
   */
  stageFile(id: string, path: string, options?: UploadOptions): Promise<void>;
  /**
   * Starts an import (answered 202; the work goes on in a task, see `tasks`). Never retried.
   *
   * @example
   *   await client.images.import(id, { method: 'glance-direct', stores: ['fast', 'slow'], allStoresMustSucceed: false });
   *   await client.images.import(id, { method: 'web-download', uri: 'https://example.com/cirros.img' });
   *   await client.images.import(id, { method: 'copy-image', allStores: true });
   */
  import(id: string, options: ImportOptions): Promise<void>;
  /**
   * Deletes the image's data from one store of a multi-store cloud (the image keeps its other
   * locations); IrisApiError 404 when the image is not in that store.
   *
   * @example await client.images.deleteFromStore(id, 'slow');
   */
  deleteFromStore(id: string, store: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * The tasks that imported this image, oldest first (`GET /v2/images/{id}/tasks`, API v2.12).
   *
   * @example const [task] = await client.images.tasks(id);
   */
  tasks(id: string, options?: { signal?: AbortSignal }): Promise<Task[]>;
}

function imagePath(id: string): string {
  return `/v2/images/${encodeURIComponent(id)}`;
}

/** Counts bytes through an upload for a progress listener. */
function counting(total: number | undefined, onProgress: NonNullable<UploadOptions['onProgress']>): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      onProgress(bytes, total);
      done(null, chunk);
    },
  });
}

/** The size of a regular file (a Content-Length to send), undefined for pipes and devices. */
async function fileSize(path: string): Promise<number | undefined> {
  const info = await stat(path);
  return info.isFile() ? info.size : undefined;
}

export function createImagesApi(transport: Transport): ImagesApi {
  /** PUTs raw data (an upload or a stage), streaming, with a progress count when asked. */
  async function sendData(path: string, data: ImageData, options: UploadOptions, store?: string): Promise<void> {
    const size = options.size ?? (data instanceof Uint8Array ? data.length : undefined);
    let body: ImageData = data;
    if (options.onProgress !== undefined) {
      const source = data instanceof Uint8Array ? Readable.from([data]) : Readable.from(data);
      const counter = counting(size, options.onProgress);
      // Errors of the source reach the counter (and so the request) through pipeline.
      pipelineCb(source, counter, () => {});
      body = counter;
    }
    const headers: Record<string, string> = {};
    if (size !== undefined) headers['Content-Length'] = String(size);
    if (store !== undefined) headers['X-Image-Meta-Store'] = store;
    await transport.discard({ method: 'PUT', path, body, contentType: 'application/octet-stream', headers, idempotent: false, signal: options.signal });
  }

  const api: ImagesApi = {
    async list(options = {}) {
      const { limit, marker, signal, ...rest } = options;
      const page = await transport.json<{ images: Image[]; next?: string; first?: string }>({
        method: 'GET',
        path: '/v2/images',
        query: listImagesQuery(rest, { limit, marker }),
        idempotent: true,
        signal,
      });
      return { images: page.images, next: page.next, first: page.first };
    },

    async *listAll(options = {}) {
      const { pageSize, limit, signal, ...rest } = options;
      let remaining = limit ?? Infinity;
      if (remaining <= 0) return;
      let request: { path: string; query?: URLSearchParams } = {
        path: '/v2/images',
        // With only a total limit, ask for no more than that in the first page either.
        query: listImagesQuery(rest, { limit: pageSize !== undefined ? Math.min(pageSize, remaining) : Number.isFinite(remaining) ? remaining : undefined }),
      };
      for (;;) {
        const page = await transport.json<{ images: Image[]; next?: string }>({ method: 'GET', ...request, idempotent: true, signal });
        for (const image of page.images) {
          yield image;
          if (--remaining <= 0) return;
        }
        // Glance's `next` is a path with every filter and the marker already in it.
        if (page.next === undefined || page.images.length === 0) return;
        request = { path: page.next };
      }
    },

    create: (input, options = {}) =>
      transport.json<Image>({ method: 'POST', path: '/v2/images', json: input, idempotent: false, signal: options.signal }),

    get: (id, options = {}) =>
      transport.json<Image>({ method: 'GET', path: imagePath(id), idempotent: true, signal: options.signal }),

    async update(id, changes, options = {}) {
      const current = options.current ?? (await api.get(id, { signal: options.signal }));
      const ops = buildImagePatch(current, changes, options.remove);
      if (ops.length === 0) return current;
      return api.patch(id, ops, { signal: options.signal });
    },

    patch: (id, ops, options = {}) =>
      transport.json<Image>({
        method: 'PATCH',
        path: imagePath(id),
        json: ops,
        contentType: JSON_PATCH_MEDIA_TYPE,
        idempotent: false,
        signal: options.signal,
      }),

    async delete(id, options = {}) {
      await transport.discard({ method: 'DELETE', path: imagePath(id), idempotent: true, signal: options.signal });
    },

    async deactivate(id, options = {}) {
      await transport.discard({ method: 'POST', path: `${imagePath(id)}/actions/deactivate`, idempotent: false, signal: options.signal });
    },

    async reactivate(id, options = {}) {
      await transport.discard({ method: 'POST', path: `${imagePath(id)}/actions/reactivate`, idempotent: false, signal: options.signal });
    },

    async addTag(id, tag, options = {}) {
      await transport.discard({ method: 'PUT', path: `${imagePath(id)}/tags/${encodeURIComponent(tag)}`, idempotent: true, signal: options.signal });
    },

    async removeTag(id, tag, options = {}) {
      await transport.discard({ method: 'DELETE', path: `${imagePath(id)}/tags/${encodeURIComponent(tag)}`, idempotent: true, signal: options.signal });
    },

    upload: (id, data, options = {}) => sendData(`${imagePath(id)}/file`, data, options, options.store),

    async uploadFile(id, path, options = {}) {
      await api.upload(id, createReadStream(path), { ...options, size: options.size ?? (await fileSize(path)) });
    },

    stage: (id, data, options = {}) => sendData(`${imagePath(id)}/stage`, data, options),

    async stageFile(id, path, options = {}) {
      await api.stage(id, createReadStream(path), { ...options, size: options.size ?? (await fileSize(path)) });
    },

    async import(id, options) {
      await transport.discard({
        method: 'POST',
        path: `${imagePath(id)}/import`,
        json: importRequestBody(options),
        // glanceclient sends a single store as this header, not in the body.
        headers: options.store !== undefined ? { 'X-Image-Meta-Store': options.store } : {},
        idempotent: false,
        signal: options.signal,
      });
    },

    async deleteFromStore(id, store, options = {}) {
      await transport.discard({
        method: 'DELETE',
        path: `/v2/stores/${encodeURIComponent(store)}/${encodeURIComponent(id)}`,
        idempotent: true,
        signal: options.signal,
      });
    },

    async tasks(id, options = {}) {
      const doc = await transport.json<{ tasks: Task[] }>({ method: 'GET', path: `${imagePath(id)}/tasks`, idempotent: true, signal: options.signal });
      return doc.tasks;
    },

    async download(id, options = {}) {
      const image = await api.get(id, { signal: options.signal });
      // Resolved before the request, so no await sits between the answer and its error handler.
      const url = `${await transport.endpoint(options.signal)}${imagePath(id)}/file`;
      const answer = await transport.send({ method: 'GET', path: `${imagePath(id)}/file`, idempotent: true, signal: options.signal });
      if (answer.status === 204) {
        await answer.body.dump();
        throw new IrisClientError('NoImageData', `Image ${id} has no data.`);
      }
      const lengthHeader = headerValue(answer.headers, 'content-length');
      const size = lengthHeader !== undefined ? Number(lengthHeader) : (image.size ?? undefined);
      const verify = options.verify ?? true;
      const verifier = verifyingStream(
        verify
          ? {
              // Content-MD5 of a whole-image answer is the image checksum; the record wins.
              md5: image.checksum ?? headerValue(answer.headers, 'content-md5'),
              hashAlgo: image.os_hash_algo,
              hashValue: image.os_hash_value,
              size: image.size ?? size,
            }
          : {},
        options.onProgress,
      );
      // A connection lost mid-body is a connection error like any other, not undici's own type.
      answer.body.once('error', (err) => verifier.destroy(new IrisConnectionError('GET', url, `Download of image ${id} broke off: ${err.message}`, { cause: err })));
      // A consumer that gives up early must not leave the socket streaming.
      verifier.once('close', () => answer.body.destroy());
      answer.body.pipe(verifier);
      return { stream: verifier, size, image, verifies: verifier.checks };
    },

    async downloadToFile(id, path, options = {}) {
      const download = await api.download(id, options);
      const part = `${path}.part`;
      let bytes = 0;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      // `flush: true` fsyncs before close, so the rename never publishes unwritten data.
      const sink = createWriteStream(part, { flush: true });
      try {
        await pipeline(download.stream, count, sink, { signal: options.signal });
        await rename(part, path);
      } catch (err) {
        // A failure before the file was even opened: the open still completes (creating the
        // file) and only then closes, so unlink after the close, not before.
        if (!sink.closed) await new Promise<void>((resolve) => sink.once('close', () => resolve()));
        await unlink(part).catch(() => {});
        throw err;
      }
      return { path, bytes, verified: download.verifies };
    },
  };
  return api;
}
