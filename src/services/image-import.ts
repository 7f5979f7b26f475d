/**
 * Interoperable image import (Glance's stage + import): staging data for glance-direct, the
 * import request's checks, and the asynchronous task that moves data into the stores.
 *
 * The order of checks and the reserved properties follow Glance 25.1.0
 * (glance/api/v2/images.py import_image, glance/async_/flows/api_image_import.py):
 * - `os_glance_import_task` is the lock: set atomically when the task is created, dropped when
 *   it ends; a second import while it is held is 409.
 * - `os_glance_importing_to_stores` lists the stores still to do, `os_glance_failed_import`
 *   those that failed (comma lists; '' when none).
 * - glance-direct and web-download take the image queued/uploading → importing → active, and
 *   back to queued on failure; copy-image leaves an active image active.
 *
 * Where Iris does better: every byte entering a store passes the format inspector in the same
 * pass as hashing; copy-image streams store to store without a staging copy; web-download
 * checks addresses at connect time (src/import/web-fetch.ts); a restart fails running tasks
 * and puts their images back in a consistent state (`recoverInterruptedImports`).
 */
import type { Readable } from 'node:stream';
import type { RequestContext } from '../domain/context.js';
import { Conflict, Gone, Invalid, IrisError, NotFound, TooLarge } from '../domain/errors.js';
import { locationOf, storeOf, type Image } from '../domain/image.js';
import type { Policy } from '../domain/policy.js';
import type { BlobStore, Clock, IdGenerator, ImageRepository, Notifier, StoredBlob, TaskRepository } from '../domain/ports.js';
import type { Task } from '../domain/task.js';
import { createUploadCheck, type FormatCheckOptions } from '../format/upload-check.js';
import type { ImageService } from './images.js';

export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image'] as const;
export type ImportMethod = (typeof IMPORT_METHODS)[number];

const LOCK = 'os_glance_import_task';
const IMPORTING = 'os_glance_importing_to_stores';
const FAILED = 'os_glance_failed_import';
const STAGE_HOST = 'os_glance_stage_host';
/** Glance busts a lock whose task has not moved for an hour (two when pending). */
const LOCK_EXPIRY_MS = 60 * 60 * 1000;
/** How often a running import marks its task alive, well inside the lock expiry. */
const HEARTBEAT_MS = 60 * 1000;
const MIB = 1024 * 1024;

/** Opens a web-download source; throws domain errors (Invalid, TooLarge) with clear messages. */
export interface WebSource {
  /** Glance's [import_filtering_opts] check, done before the task is created. */
  passesFilter(uri: string): boolean;
  open(uri: string, opts: { sizeCap: number; signal?: AbortSignal }): Promise<{ stream: Readable; contentLength: number | null }>;
}

export interface ImageImportDeps {
  readonly images: ImageRepository;
  readonly tasks: TaskRepository;
  /** The image stores. */
  readonly blobs: BlobStore;
  /** The staging area (os_glance_staging_store): one object per image id. */
  readonly staging: BlobStore;
  /** The staging location of an image's data (the staging store keys objects by image id). */
  readonly stagingLocation: (imageId: string) => string;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly notifier: Notifier;
  readonly imageService: Pick<ImageService, 'findVisible' | 'watchTransfer'>;
  readonly methods: readonly string[];
  readonly multiStore: boolean;
  readonly imageSizeCap: number;
  readonly hashingAlgorithm: string;
  readonly formatChecks: FormatCheckOptions;
  /** Hours a finished task is kept. */
  readonly taskTimeToLiveHours: number;
  readonly web: WebSource;
  /**
   * Glance's import plugins ([image_import_opts] image_import_plugins), in order. They run on
   * the staged data of glance-direct and web-download imports (never copy-image), before any
   * store receives it.
   */
  readonly plugins?: readonly ImportPlugin[];
  /** Path of an image's staged file (the staging store keys files by image id). */
  readonly stagingPath?: (imageId: string) => string;
  /** Interval of a running import's heartbeat on its task (default one minute). */
  readonly heartbeatMs?: number;
  /** Background task failures that are not the task's own (logged). */
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

/** What an import plugin sees. */
export interface ImportPluginContext {
  readonly imageId: string;
  /** The image as it is now (status importing). */
  readonly image: Image;
  /**
   * The staged data. A plugin that transforms it writes the result elsewhere in `tempDir` and
   * renames it over this path (atomic; temp files there are swept at start after a crash).
   */
  readonly stagedPath: string;
  readonly tempDir: string;
  /** Roles of the caller who asked for the import (inject_metadata's ignore_user_roles). */
  readonly roles: readonly string[];
  readonly signal: AbortSignal;
}

/** Changes a plugin makes to the image; applied before the data goes to the stores. */
export interface ImportPluginResult {
  readonly disk_format?: string;
  readonly container_format?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

/**
 * One import plugin. Throwing fails the import (IrisError messages reach the task's message).
 * @example const plugin: ImportPlugin = { name: 'inject_image_metadata', run: async () => ({ properties: { a: 'b' } }) };
 */
export interface ImportPlugin {
  readonly name: string;
  run(c: ImportPluginContext): Promise<ImportPluginResult | void>;
}

export interface ImportRequest {
  readonly method: ImportMethod;
  readonly uri?: string;
  readonly stores: readonly (string | null)[];
  readonly allStoresMustSucceed: boolean;
  readonly body: Record<string, unknown>;
  readonly roles: readonly string[];
}

export type ImageImportService = ReturnType<typeof createImageImportService>;

function listProp(image: Image, key: string): string[] {
  const raw = image.properties[key];
  return raw === undefined || raw === '' ? [] : raw.split(',');
}

function withList(image: Image, key: string, values: readonly string[]): Image {
  return { ...image, properties: { ...image.properties, [key]: values.join(',') } };
}

function addTo(image: Image, key: string, stores: readonly (string | null)[]): Image {
  const current = listProp(image, key);
  for (const s of stores) if (s !== null && !current.includes(s)) current.push(s);
  return withList(image, key, current);
}

function removeFrom(image: Image, key: string, stores: readonly (string | null)[]): Image {
  return withList(image, key, listProp(image, key).filter((s) => !stores.includes(s)));
}

function isBool(v: unknown): boolean {
  return typeof v === 'boolean';
}

export function createImageImportService(deps: ImageImportDeps) {
  const { images, tasks, blobs, staging, policy, clock } = deps;
  /** Imports running in this process, by task id, so shutdown and deletes can abort them. */
  const running = new Map<string, AbortController>();
  /** Task id of the import running here for an image. */
  const runningFor = new Map<string, string>();

  /** Reads the image, applies `change`, saves it compare-and-swap on the status it was read in. */
  async function updateImage(id: string, change: (image: Image) => Image): Promise<Image> {
    const image = await images.get(id);
    if (!image) throw new NotFound(`No image found with ID ${id}`);
    const next = { ...change(image), updated_at: clock.now() };
    await images.save(next, { fromStatus: image.status });
    return next;
  }

  const stagingLocationOf = deps.stagingLocation;

  async function dropStaging(imageId: string): Promise<void> {
    // The staging delete is idempotent: any error is real and leaves data behind.
    await staging.delete(stagingLocationOf(imageId), staging.defaultStore).catch((e: unknown) => {
      deps.onError('could not drop staged data; left in the staging area', e, { image: imageId });
    });
  }

  // ---------------------------------------------------------------- stage --

  async function stage(
    ctx: RequestContext,
    id: string,
    source: Readable,
    opts: { contentLength?: number; signal?: AbortSignal },
  ): Promise<void> {
    const image = await deps.imageService.findVisible(ctx, id);
    policy.enforce(ctx, 'modify_image', image);
    if (image.status !== 'queued') {
      throw new Conflict(`Image status transition from ${image.status} to uploading is not allowed`);
    }
    if (opts.contentLength !== undefined && opts.contentLength > deps.imageSizeCap) {
      throw new TooLarge(`Image exceeds the storage quota or the image size cap of ${deps.imageSizeCap} bytes.`);
    }
    const uploading: Image = { ...image, status: 'uploading', updated_at: clock.now() };
    // Glance answers 500 here; Iris says what happened, as Glance's upload does (410).
    const gone = (): Gone =>
      new Gone(`Image ${id} could not be found after staging. The image may have been deleted during the stage, cleaning up the staged data.`);
    // Deleting the image stops the stage while bytes are still coming in.
    const watch = deps.imageService.watchTransfer(id, gone);
    try {
      await images.save(uploading, { fromStatus: 'queued' });
      const signal = opts.signal === undefined ? watch.signal : AbortSignal.any([opts.signal, watch.signal]);
      let blob: StoredBlob;
      try {
        blob = await staging.put(id, source, {
          expectedSize: opts.contentLength,
          sizeCap: deps.imageSizeCap,
          hashAlgo: deps.hashingAlgorithm,
          signal,
        });
      } catch (e) {
        await backTo(uploading, 'uploading');
        throw e;
      }
      try {
        await images.save({ ...uploading, size: blob.size, updated_at: clock.now() }, { fromStatus: 'uploading' });
      } catch (e) {
        // Deleted meanwhile: the staged data must not outlive it.
        await dropStaging(id);
        if (e instanceof Conflict || e instanceof NotFound) throw gone();
        throw e;
      }
    } finally {
      watch.release();
    }
  }

  async function backTo(image: Image, from: Image['status']): Promise<void> {
    try {
      await images.save({ ...image, status: 'queued', updated_at: clock.now() }, { fromStatus: from });
    } catch (e) {
      if (!(e instanceof Conflict) && !(e instanceof NotFound)) throw e;
    }
  }

  // --------------------------------------------------------------- import --

  /** The request body's own checks (Glance's deserializer), before anything is looked up. */
  function parseBody(body: unknown): { method: string; uri: unknown; raw: Record<string, unknown> } {
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !('method' in body)) {
      throw new Invalid("Import request requires a 'method' field.");
    }
    const raw = body as Record<string, unknown>;
    const method = raw.method;
    if (typeof method !== 'object' || method === null || !('name' in method)) {
      throw new Invalid("Import request requires a 'name' field.");
    }
    const name = (method as Record<string, unknown>).name;
    if (typeof name !== 'string' || !deps.methods.includes(name)) {
      throw new Invalid(`Unknown import method name '${pyStr(name)}'.`);
    }
    if ('all_stores_must_succeed' in raw && !isBool(raw.all_stores_must_succeed)) {
      throw new Invalid("'all_stores_must_succeed' must be boolean value only");
    }
    if ('all_stores' in raw && !isBool(raw.all_stores)) {
      throw new Invalid("'all_stores' must be boolean value only");
    }
    return { method: name, uri: (method as Record<string, unknown>).uri, raw };
  }

  /** Glance's get_stores_from_request. */
  function storesOf(raw: Record<string, unknown>, headerStore: string | undefined): string[] {
    let stores: unknown;
    if (raw.all_stores === true) {
      if ('stores' in raw || headerStore !== undefined) {
        throw new Invalid("All_stores parameter can't be used with x-image-meta-store header or stores parameter");
      }
      stores = [...blobs.stores];
    } else if ('stores' in raw) {
      if (headerStore !== undefined) throw new Invalid("Stores parameter and x-image-meta-store header can't be both specified");
      stores = raw.stores;
    } else {
      stores = [headerStore ?? blobs.defaultStore];
    }
    if (!Array.isArray(stores) || stores.some((s) => typeof s !== 'string')) {
      throw new Invalid("'stores' must be a list of store identifiers");
    }
    for (const s of stores as string[]) {
      if (!blobs.has(s)) throw new Conflict(`Store for identifier ${s} not found`);
    }
    return [...(stores as string[])];
  }

  /** An existing lock: Conflict unless its task is gone or has not moved for Glance's expiry. */
  async function checkLock(image: Image): Promise<Task | null | undefined> {
    const holder = image.properties[LOCK];
    if (holder === undefined) return undefined;
    const task = await tasks.get(holder);
    const age = task ? clock.now().getTime() - task.updated_at.getTime() : 0;
    const expiry = task?.status === 'pending' ? 2 * LOCK_EXPIRY_MS : LOCK_EXPIRY_MS;
    if (!task || age >= expiry) {
      // Bust the stale lock (Glance's _bust_import_lock): fail its task if it never finished.
      await images.deletePropertyAtomic(image.id, LOCK, holder);
      if (task && (task.status === 'pending' || task.status === 'processing')) {
        await finishTask(task, 'failure', 'Expired lock preempted');
      }
      return task;
    }
    throw new Conflict('Image has active task');
  }

  async function importImage(
    ctx: RequestContext,
    id: string,
    body: unknown,
    opts: { headerStore?: string } = {},
  ): Promise<void> {
    const { method, uri, raw } = parseBody(body);
    const allStoresMustSucceed = raw.all_stores_must_succeed !== false;
    const image = await deps.imageService.findVisible(ctx, id);
    if (image.status === 'active' && method !== 'copy-image') {
      throw new Conflict('Image with status active cannot be target for import');
    }
    if (image.status !== 'active' && method === 'copy-image') {
      throw new Conflict('Only images with status active can be targeted for copying');
    }
    if (image.status !== 'queued' && method === 'web-download') {
      throw new Conflict(`Image needs to be in 'queued' state to use '${method}' method`);
    }
    if (image.status !== 'uploading' && method === 'glance-direct') {
      throw new Conflict("Image needs to be staged before 'glance-direct' method can be used");
    }
    if (!image.container_format) throw new Conflict("'container_format' needs to be set before import");
    if (!image.disk_format) throw new Conflict("'disk_format' needs to be set before import");
    policy.enforce(ctx, method === 'copy-image' ? 'copy_image' : 'modify_image', image);
    const stolenFrom = await checkLock(image);

    let stores: (string | null)[] = [null];
    if (deps.multiStore) stores = storesOf(raw, opts.headerStore);
    if (method === 'copy-image') {
      const present = image.locations.map(storeOf);
      if (raw.all_stores === true) {
        stores = stores.filter((s) => !present.includes(s));
        if (stores.length === 0) return; // already everywhere: nothing to do, still 202
      } else {
        const already = stores.find((s) => present.includes(s));
        if (already !== undefined) throw new Invalid(`Image is already present at store '${already}'`);
      }
    }
    if (!allStoresMustSucceed && !deps.multiStore) {
      throw new Invalid(`All_stores_must_succeed can only be set with enabled_backends ${pyStr(uri)}`);
    }
    if (method === 'web-download' && (typeof uri !== 'string' || !deps.web.passesFilter(uri))) {
      throw new Invalid(`URI for web-download does not pass filtering: ${pyStr(uri)}`);
    }

    const now = clock.now();
    const task: Task = {
      id: deps.ids.uuid(),
      type: 'api_image_import',
      status: 'pending',
      // Glance needs a project here (its column is NOT NULL and a project-less admin gets a 500);
      // Iris records the image's owner instead, or '' when there is none.
      owner: ctx.projectId ?? image.owner ?? '',
      image_id: id,
      request_id: ctx.requestId,
      user_id: ctx.userId,
      expires_at: null,
      created_at: now,
      updated_at: now,
      input: { image_id: id, import_req: raw, backend: stores },
      result: null,
      message: '',
    };
    try {
      await images.setPropertyAtomic(id, LOCK, task.id);
    } catch (e) {
      if (e instanceof Conflict) {
        throw new Conflict(`New operation on image '${id}' is not permitted as prior operation is still in progress`);
      }
      throw e;
    }
    if (stolenFrom) {
      await cleanupStaleProgress(id, stolenFrom).catch((e: unknown) => {
        deps.onError('could not clear the progress of a preempted import', e, { image: id, task: stolenFrom.id });
      });
    }
    try {
      await tasks.add(task);
    } catch (e) {
      await images.deletePropertyAtomic(id, LOCK, task.id);
      throw e;
    }
    const request: ImportRequest = {
      method: method as ImportMethod,
      uri: typeof uri === 'string' ? uri : undefined,
      stores,
      allStoresMustSucceed,
      body: raw,
      roles: ctx.roles,
    };
    // Asynchronous as in Glance: the caller gets 202 and follows the task and the image.
    setImmediate(() => {
      runTask(task, request).catch((e) => deps.onError('import task crashed', e, { task: task.id, image: id }));
    });
  }

  async function cleanupStaleProgress(id: string, old: Task): Promise<void> {
    const backend = (old.input?.backend as (string | null)[] | undefined) ?? [];
    await updateImage(id, (image) => removeFrom(removeFrom(image, IMPORTING, backend), FAILED, backend));
  }

  // ----------------------------------------------------------------- task --

  async function finishTask(task: Task, status: 'success' | 'failure', message: string, result?: Record<string, unknown>) {
    const now = clock.now();
    const current = (await tasks.get(task.id)) ?? task;
    if (current.status === 'success' || current.status === 'failure') return;
    await tasks.save(
      {
        ...current,
        status,
        message,
        result: result ?? current.result,
        updated_at: now,
        expires_at: new Date(now.getTime() + deps.taskTimeToLiveHours * 3600_000),
      },
      { fromStatus: current.status },
    );
  }

  async function setMessage(task: Task, message: string): Promise<void> {
    const current = await tasks.get(task.id);
    if (!current || current.status !== 'processing') throw new Conflict('Import task was aborted');
    await tasks.save({ ...current, message, updated_at: clock.now() }, { fromStatus: 'processing' });
  }

  async function runTask(task: Task, req: ImportRequest): Promise<void> {
    const abort = new AbortController();
    running.set(task.id, abort);
    runningFor.set(task.image_id!, task.id);
    const id = task.image_id!;
    const added: { url: string; store: string }[] = [];
    // Stores only touch the task between stores: a single copy longer than the lock expiry
    // would otherwise look abandoned and be taken over while its bytes still flow.
    const heartbeat = setInterval(() => {
      tasks.touch(task.id, clock.now()).catch((e) => deps.onError('could not mark import task alive', e, { task: task.id, image: task.image_id }));
    }, deps.heartbeatMs ?? HEARTBEAT_MS);
    heartbeat.unref();
    try {
      await tasks.save({ ...task, status: 'processing', updated_at: clock.now() }, { fromStatus: 'pending' });
      // Mark the image as intended, as Glance's get_flow does before the flow runs.
      let image = await updateImage(id, (img) => {
        let next = img;
        if (req.method !== 'copy-image') next = { ...next, status: 'importing' };
        next = removeFrom(addTo(next, IMPORTING, req.stores), FAILED, req.stores);
        const { [STAGE_HOST]: _host, ...properties } = next.properties;
        return { ...next, properties };
      });

      // The source every store reads from: staged data, or for copy-image the image's own data.
      // web-download into one store with no plugin to run: the download streams straight into
      // the store (one pass instead of Glance's download-to-staging then copy).
      let direct: Readable | undefined;
      if (req.method === 'web-download' && req.stores.length === 1 && !(deps.plugins && deps.plugins.length > 0)) {
        direct = (await deps.web.open(req.uri!, { sizeCap: deps.imageSizeCap, signal: abort.signal })).stream;
      } else if (req.method === 'web-download') {
        const { stream } = await deps.web.open(req.uri!, { sizeCap: deps.imageSizeCap, signal: abort.signal });
        try {
          await staging.put(id, stream, { sizeCap: deps.imageSizeCap, hashAlgo: deps.hashingAlgorithm, signal: abort.signal });
        } finally {
          stream.destroy();
        }
      }
      const openSource = async (): Promise<Readable> => {
        if (direct) {
          const stream = direct;
          direct = undefined;
          return stream;
        }
        if (req.method === 'copy-image') {
          const loc = image.locations.find((l) => l.status === 'active');
          if (!loc) throw new Invalid('The image has no data to copy');
          return (await blobs.get(loc.url, { store: storeOf(loc) })).stream;
        }
        try {
          return (await staging.get(stagingLocationOf(id), { store: staging.defaultStore })).stream;
        } catch (e) {
          if (e instanceof NotFound) throw new Invalid(`No staged data found for image ${id}`);
          throw e;
        }
      };

      if (req.method !== 'copy-image' && deps.plugins && deps.plugins.length > 0) {
        image = await runPlugins(id, image, req, abort.signal);
      }

      let copied = 0;
      for (const [i, store] of req.stores.entries()) {
        const setActive = req.method !== 'copy-image' && (!req.allStoresMustSucceed || i === req.stores.length - 1);
        const current = await images.get(id);
        if (!current || current.status === 'deleted') throw new Invalid('Image has been deleted, aborting import.');
        const check =
          req.method === 'copy-image'
            ? undefined
            : createUploadCheck({ diskFormat: current.disk_format, containerFormat: current.container_format }, deps.formatChecks);
        const source = await openSource();
        let blob: StoredBlob;
        try {
          blob = await blobs.put(id, source, {
            sizeCap: deps.imageSizeCap,
            hashAlgo: deps.hashingAlgorithm,
            signal: abort.signal,
            observer: check?.observer,
            ...(store !== null ? { store } : {}),
          });
        } catch (e) {
          source.destroy();
          if (req.allStoresMustSucceed) {
            // The revert marks the stores failed; this error is the one the task reports.
            throw e;
          }
          deps.onError('import to one store failed; all_stores_must_succeed is false, continuing', e, { task: task.id, store });
          image = await updateImage(id, (img) => addTo(removeFrom(img, IMPORTING, [store]), FAILED, [store]));
          continue;
        }
        source.destroy();
        added.push({ url: blob.location, store: blob.store });
        copied = blob.size;
        const virtualSize = check ? check.virtualSize() : null;
        image = await updateImage(id, (img) => {
          let next: Image = { ...img, locations: [...img.locations, locationOf(blob, deps.multiStore)] };
          if (setActive && next.status !== 'active') {
            next = {
              ...next,
              status: 'active',
              size: blob.size,
              checksum: blob.checksum,
              os_hash_algo: blob.os_hash_algo,
              os_hash_value: blob.os_hash_value,
              virtual_size: virtualSize ?? next.virtual_size,
            };
          }
          return removeFrom(next, IMPORTING, [store]);
        });
        await setMessage(task, `Copied ${Math.floor(copied / MIB)} MiB`);
      }

      await dropStaging(id);
      if (image.status !== 'active') throw new Invalid('None of the uploads finished!');
      await finishTask(task, 'success', `Copied ${Math.floor(copied / MIB)} MiB`, { image_id: id });
      deps.notifier.emit('image.import', { id, task: task.id });
    } catch (e) {
      await revert(task, req, added, e);
    } finally {
      clearInterval(heartbeat);
      running.delete(task.id);
      if (runningFor.get(id) === task.id) runningFor.delete(id);
      await images.deletePropertyAtomic(id, LOCK, task.id).catch((e: unknown) => {
        deps.onError('could not release the import lock; it is busted after an hour', e, { image: id, task: task.id });
      });
    }
  }

  async function runPlugins(id: string, start: Image, req: ImportRequest, signal: AbortSignal): Promise<Image> {
    if (!deps.stagingPath) throw new Error('import plugins need stagingPath');
    const stagedPath = deps.stagingPath(id);
    let image = start;
    for (const plugin of deps.plugins ?? []) {
      const changes = await plugin.run({
        imageId: id,
        image,
        stagedPath,
        tempDir: `${stagedPath.slice(0, stagedPath.lastIndexOf('/'))}/.tmp`,
        roles: req.roles,
        signal,
      });
      if (!changes) continue;
      image = await updateImage(id, (img) => ({
        ...img,
        ...(changes.disk_format !== undefined ? { disk_format: changes.disk_format } : {}),
        ...(changes.container_format !== undefined ? { container_format: changes.container_format } : {}),
        properties: { ...img.properties, ...(changes.properties ?? {}) },
      }));
    }
    return image;
  }

  /** Undoes a failed import: its new copies, the staged data, the status (unless copy-image). */
  async function revert(task: Task, req: ImportRequest, added: { url: string; store: string }[], error: unknown): Promise<void> {
    const id = task.image_id!;
    const message = error instanceof IrisError ? error.message : 'Import failed: internal error';
    if (!(error instanceof IrisError)) deps.onError('import task failed', error, { task: task.id, image: id });
    try {
      if (req.method !== 'copy-image') {
        for (const a of added) {
          await blobs.delete(a.url, a.store).catch((e: unknown) => {
            deps.onError('could not delete a copy of a failed import; orphan left', e, { image: id, task: task.id, location: a.url });
          });
        }
        const urls = new Set(added.map((a) => a.url));
        await updateImage(id, (img) => {
          const next = removeFrom({ ...img, locations: img.locations.filter((l) => !urls.has(l.url)) }, IMPORTING, req.stores);
          const failed = addTo(next, FAILED, req.stores);
          return img.status === 'importing' || img.status === 'uploading'
            ? { ...failed, status: 'queued', size: null, checksum: null, os_hash_algo: null, os_hash_value: null }
            : failed;
        });
      } else {
        // Copies that finished stay; the stores not reached are the failed ones.
        const done = added.map((a) => a.store);
        const missed = req.stores.filter((s) => s !== null && !done.includes(s));
        await updateImage(id, (img) => addTo(removeFrom(img, IMPORTING, req.stores), FAILED, missed));
      }
    } catch (e) {
      if (!(e instanceof NotFound)) deps.onError('could not revert image after failed import', e, { task: task.id, image: id });
    }
    await dropStaging(id);
    await finishTask(task, 'failure', message).catch((e) => deps.onError('could not fail import task', e, { task: task.id }));
  }

  return {
    stage,
    importImage,
    dropStaging,
    /**
     * The image was deleted: stop its import if this process runs one (the task fails and its
     * partial data is removed) and drop its staged data.
     */
    async imageDeleted(imageId: string): Promise<void> {
      const taskId = runningFor.get(imageId);
      if (taskId !== undefined) running.get(taskId)?.abort(new Invalid('Image has been deleted, aborting import.'));
      await dropStaging(imageId);
    },
    /** Aborts running imports (shutdown); their tasks are failed on the next start. */
    abortAll() {
      for (const c of running.values()) c.abort(new Invalid('Import interrupted by shutdown'));
    },
    /** How many imports this process is running. */
    get runningCount() {
      return running.size;
    },
  };
}

/**
 * Start recovery for tasks a crash or restart interrupted (already failed by the task
 * repository): the image leaves importing/uploading for queued with its stores marked failed,
 * loses partial copies of a non-copy import, its staged data is deleted and its lock dropped.
 */
export async function recoverInterruptedImports(
  deps: Pick<ImageImportDeps, 'images' | 'blobs' | 'clock' | 'onError'> & {
    readonly dropStaging: (imageId: string) => Promise<void>;
  },
  failed: readonly Task[],
): Promise<string[]> {
  const { images, blobs, clock, dropStaging } = deps;
  const recovered: string[] = [];
  for (const task of failed) {
    const id = task.image_id;
    if (!id) continue;
    const image = await images.get(id);
    if (!image || image.properties[LOCK] !== task.id) continue;
    const backend = ((task.input?.backend as (string | null)[] | undefined) ?? []).filter((s): s is string => s !== null);
    const method = ((task.input?.import_req as { method?: { name?: string } } | undefined)?.method?.name ?? '') as string;
    const pending = listProp(image, IMPORTING);
    let next: Image = removeFrom(image, IMPORTING, backend);
    next = addTo(next, FAILED, pending.length > 0 ? pending : backend);
    if (method !== 'copy-image' && image.status !== 'active') {
      for (const loc of image.locations) {
        await blobs.delete(loc.url, storeOf(loc)).catch((e: unknown) => {
          deps.onError('could not delete a copy of an interrupted import; orphan left', e, { image: id, task: task.id, location: loc.url });
        });
      }
      next = { ...next, status: 'queued', locations: [], size: null, checksum: null, os_hash_algo: null, os_hash_value: null };
    }
    const { [LOCK]: _lock, ...properties } = next.properties;
    next = { ...next, properties, updated_at: clock.now() };
    try {
      await images.save(next, { fromStatus: image.status });
      await dropStaging(id);
      recovered.push(id);
    } catch (e) {
      deps.onError('could not recover image of an interrupted import', e, { task: task.id, image: id });
    }
  }
  return recovered;
}


/** Python's str() of a JSON value in messages: None for missing. */
function pyStr(v: unknown): string {
  if (v === undefined || v === null) return 'None';
  return typeof v === 'string' ? v : JSON.stringify(v);
}


/**
 * Start recovery for stages a crash interrupted. `PUT /stage` takes the image to `uploading`
 * and records the staged size once the data is in place, so an `uploading` image whose staged
 * object is missing or not of the recorded size was cut off mid-stage: it returns to `queued`
 * (staged leftovers dropped) so it can be staged again. One whose data is complete stays
 * `uploading`, as in Glance, waiting for its import call. Images held by an import lock are
 * left to `recoverInterruptedImports`.
 *
 * @returns the ids of the images returned to `queued`.
 */
export async function recoverInterruptedStages(
  deps: Pick<ImageImportDeps, 'images' | 'staging' | 'stagingLocation' | 'clock' | 'onError'>,
): Promise<string[]> {
  const { images, staging, clock } = deps;
  const recovered: string[] = [];
  for (const image of await images.withStatus('uploading')) {
    if (image.properties[LOCK] !== undefined) continue;
    const location = deps.stagingLocation(image.id);
    let staged: number | null = null;
    try {
      const { stream, size } = await staging.get(location, { store: staging.defaultStore });
      stream.destroy();
      staged = size;
    } catch (e) {
      if (!(e instanceof NotFound)) {
        deps.onError('could not check the staged data of an uploading image; left as it is', e, { image: image.id });
        continue;
      }
    }
    if (image.size !== null && staged === image.size) continue;
    try {
      await images.save({ ...image, status: 'queued', size: null, updated_at: clock.now() }, { fromStatus: 'uploading' });
      recovered.push(image.id);
    } catch (e) {
      deps.onError('could not return an interrupted stage to queued', e, { image: image.id });
      continue;
    }
    if (staged !== null) {
      await staging.delete(location, staging.defaultStore).catch((e: unknown) => {
        deps.onError('could not drop the partial staged data of an interrupted stage', e, { image: image.id });
      });
    }
  }
  return recovered;
}
