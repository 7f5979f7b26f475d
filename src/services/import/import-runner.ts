/**
 * The asynchronous import task: moves the data (staged, downloaded, or the image's own for
 * copy-image) through the import plugins into each requested store, keeps the image's import
 * properties and status up to date, and undoes a failed import (Glance 25.1.0's
 * api_image_import flow).
 *
 * glance-direct and web-download take the image importing → active, and back to queued on
 * failure; copy-image leaves an active image active. Every byte entering a store passes the
 * format inspector in the same pass as hashing; copy-image streams store to store without a
 * staging copy.
 */
import type { Readable } from 'node:stream';
import { Invalid, IrisError, NotFound } from '../../domain/errors.js';
import { locationOf, storeOf, transition, type Image } from '../../domain/image.js';
import type { ImportMethod } from '../../domain/import-method.js';
import type { CatalogEntry } from '../../domain/context.js';
import { copiedProperties, DEFAULT_EXTRA_PROPERTIES, findGlanceEndpoint, type GlanceDownloadMethod } from '../../domain/glance-download.js';
import type {
  BlobStore,
  Clock,
  ImageRepository,
  ImportPlugin,
  Notifier,
  RemoteGlance,
  StoredBlob,
  TaskRepository,
  WebSource,
} from '../../domain/ports.js';
import { pyStr } from '../../domain/py-format.js';
import { beginProcessing, type Task } from '../../domain/task.js';
import { createUploadCheck, type FormatCheckOptions } from '../../format/upload-check.js';
import { addTo, FAILED, IMPORTING, removeFrom, STAGE_HOST, updateImage } from './import-image-properties.js';
import type { ImportLock } from './import-lock.js';
import type { ImportTaskProgress } from './import-task-progress.js';
import type { QuotaService, StorageHold } from '../quotas.js';
import { imagePayload, importProgressPayload, taskContext, taskPayload } from '../../notify/event-payloads.js';

const MIB = 1024 * 1024;

/** The message of every failed glance-download task in Glance 25.1.0 (its executor's catch-all). */
const GLANCE_DOWNLOAD_FAILURE = 'Task failed due to Internal Error';

/** A checked import request, as the runner executes it. */
export interface ImportRequest {
  readonly method: ImportMethod;
  readonly uri?: string;
  readonly stores: readonly (string | null)[];
  readonly allStoresMustSucceed: boolean;
  readonly body: Record<string, unknown>;
  readonly roles: readonly string[];
  /** The caller's project, charged by the quotas (Glance's context.owner); absent = none. */
  readonly projectId?: string | null;
  /**
   * glance-download: the remote image, and the caller's token and catalog to reach it (kept in
   * memory only, for this run; never recorded).
   */
  readonly glance?: GlanceDownloadMethod & { readonly token?: string; readonly catalog: readonly CatalogEntry[] };
}

export interface ImportRunnerDeps {
  readonly images: ImageRepository;
  readonly tasks: TaskRepository;
  readonly blobs: BlobStore;
  readonly staging: BlobStore;
  readonly stagingLocation: (imageId: string) => string;
  /** Path of an image's staged file, for plugins (the staging store keys files by image id). */
  readonly stagingPath?: (imageId: string) => string;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly multiStore: boolean;
  readonly imageSizeCap: number;
  readonly hashingAlgorithm: string;
  readonly formatChecks: FormatCheckOptions;
  readonly web: WebSource;
  /** The remote region's Glance (glance-download); absent: that method fails its tasks. */
  readonly remoteGlance?: RemoteGlance;
  /** [glance_download_properties] extra_properties: prefixes of the remote properties copied. */
  readonly glanceDownloadProperties?: readonly string[];
  readonly plugins?: readonly ImportPlugin[];
  readonly lock: Pick<ImportLock, 'keepAlive' | 'release'>;
  readonly progress: ImportTaskProgress;
  readonly dropStaging: (imageId: string) => Promise<void>;
  /** Keystone limits, the byte quota and image_location_quota; absent = none. */
  readonly quotas?: Pick<QuotaService, 'enforceLimits' | 'holdStorage' | 'checkLocations'>;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

export type ImportRunner = ReturnType<typeof createImportRunner>;

export function createImportRunner(deps: ImportRunnerDeps) {
  const { images, tasks, blobs, staging, clock, progress } = deps;
  /** Imports running in this process, by task id, so shutdown and deletes can abort them. */
  const running = new Map<string, AbortController>();
  /** Task id of the import running here for an image. */
  const runningFor = new Map<string, string>();
  /** Saves a change of the image; image.update once stored, as each save of Glance's import flow. */
  const update = async (task: Task, change: (image: Image) => Image): Promise<Image> => {
    const image = await updateImage(deps, task.image_id!, change);
    deps.notifier.emit('image.update', imagePayload(image), { context: taskContext(task) });
    return image;
  };

  async function runTask(task: Task, req: ImportRequest): Promise<void> {
    const abort = new AbortController();
    running.set(task.id, abort);
    runningFor.set(task.image_id!, task.id);
    const id = task.image_id!;
    const added: { url: string; store: string }[] = [];
    // glance-download: puts back what the remote image's metadata changed, on failure.
    let restore: ((image: Image) => Image) | undefined;
    // Another node took the task over (this one looked dead): stop moving bytes for it.
    let taken = false;
    const stopHeartbeat = deps.lock.keepAlive(task, () => {
      taken = true;
      abort.abort(new Invalid('Import task lease lost: another node took the task over'));
    });
    try {
      const processing = beginProcessing(task, clock.now());
      await tasks.save(processing, { fromStatus: 'pending' });
      deps.notifier.emit('task.processing', taskPayload(processing, clock.now()), { context: taskContext(processing) });
      // Mark the image as intended, as Glance's get_flow does before the flow runs.
      let image = await update(task, (img) => {
        let next = img;
        if (req.method !== 'copy-image') next = transition(next, 'importing');
        next = removeFrom(addTo(next, IMPORTING, req.stores), FAILED, req.stores);
        const { [STAGE_HOST]: _host, ...properties } = next.properties;
        return { ...next, properties };
      });
      // After marking the image as intended, Glance checks Keystone limits with the image's size
      // (MiB) and fails the task when over: glance-direct against image_size_total; the
      // methods that use staging space against image_stage_total and image_count_uploading.
      const project = req.projectId ?? null;
      const sizeMib = Math.floor((image.size ?? 0) / MIB);
      if (req.method === 'glance-direct') await deps.quotas?.enforceLimits(project, { image_size_total: sizeMib });
      else {
        await deps.quotas?.enforceLimits(project, { image_stage_total: sizeMib });
        await deps.quotas?.enforceLimits(project, { image_count_uploading: 0 });
      }

      // glance-download first reads the remote image (Glance's _ImportMetadata): its formats and
      // properties are set here, its size is what the download must deliver.
      let expectedSize: number | undefined;
      let download: (() => Promise<Readable>) | undefined;
      if (req.method === 'web-download') {
        download = async () => (await deps.web.open(req.uri!, { sizeCap: deps.imageSizeCap, signal: abort.signal })).stream;
      } else if (req.method === 'glance-download') {
        const remote = await readRemoteImage(task, req, abort.signal, (undo) => (restore = undo));
        expectedSize = remote.size;
        image = remote.image;
        download = () => remote.open();
      }

      // The source every store reads from: staged data, or for copy-image the image's own data.
      // A download into one store with no plugin to run streams straight into the store (one
      // pass instead of Glance's download-to-staging then copy).
      let direct: Readable | undefined;
      let directSize: number | undefined;
      if (download && req.stores.length === 1 && !(deps.plugins && deps.plugins.length > 0)) {
        direct = await download();
        directSize = expectedSize;
      } else if (download) {
        const stream = await download();
        try {
          // Digests come from the copy into the stores, which reads the staged bytes back.
          await staging.put(id, stream, { sizeCap: deps.imageSizeCap, hashAlgo: null, signal: abort.signal, expectedSize });
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
        directSize = undefined;
        if (req.method === 'copy-image') {
          const loc = image.locations.find((l) => l.status === 'active');
          if (!loc) throw new Invalid('The image has no data to copy');
          return (await blobs.get(loc.url, { store: storeOf(loc) })).stream;
        }
        try {
          return (await staging.get(deps.stagingLocation(id), { store: staging.defaultStore })).stream;
        } catch (e) {
          if (e instanceof NotFound) throw new Invalid(`No staged data found for image ${id}`);
          throw e;
        }
      };

      if (req.method !== 'copy-image' && deps.plugins && deps.plugins.length > 0) {
        image = await runPlugins(task, image, req, abort.signal);
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
        // Glance's set_data announces the copy (image.prepare) before the first byte moves.
        const backend = deps.multiStore && store !== null ? { backend: store } : {};
        deps.notifier.emit('image.prepare', { ...imagePayload(current), ...importProgressPayload(current), ...backend }, { context: taskContext(task) });
        let blob: StoredBlob;
        let hold: StorageHold | null = null;
        let source: Readable | undefined;
        try {
          // Iris enforces image_location_quota on the copies it adds (Glance 25.1.0's location
          // layer sits below its quota layer, so copy-image never meets the quota there).
          if (req.method === 'copy-image') deps.quotas?.checkLocations(current.locations.length + 1);
          // user_storage_quota as Glance's set_data of an import: a body of unknown length,
          // charged as it arrives (reserved race-free, released once the copy is recorded).
          hold = (await deps.quotas?.holdStorage(req.projectId ?? null, id, undefined)) ?? null;
          source = await openSource();
          const counted = hold === null ? source : hold.meter(source);
          // Opened first: a direct download's expected size goes with it.
          const size = directSize;
          blob = await blobs.put(id, counted, {
            ...(size !== undefined ? { expectedSize: size } : {}),
            sizeCap: deps.imageSizeCap,
            hashAlgo: deps.hashingAlgorithm,
            signal: abort.signal,
            observer: check?.observer,
            ...(store !== null ? { store } : {}),
          });
        } catch (e) {
          source?.destroy();
          await hold?.release();
          if (req.allStoresMustSucceed) {
            // The revert marks the stores failed; this error is the one the task reports.
            throw e;
          }
          deps.onError('import to one store failed; all_stores_must_succeed is false, continuing', e, { task: task.id, store });
          image = await update(task, (img) => addTo(removeFrom(img, IMPORTING, [store]), FAILED, [store]));
          continue;
        }
        // The copy is recorded (its bytes counted) before its reservation ends, whatever happens.
        try {
          source?.destroy();
          added.push({ url: blob.location, store: blob.store });
          copied = blob.size;
          const virtualSize = check ? check.virtualSize() : null;
          const stored = await updateImage(deps, id, (img) => {
            let next: Image = { ...img, locations: [...img.locations, locationOf(blob, deps.multiStore)] };
            if (setActive && next.status !== 'active') {
              next = transition(next, 'active', {
                size: blob.size,
                checksum: blob.checksum,
                os_hash_algo: blob.os_hash_algo,
                os_hash_value: blob.os_hash_value,
                virtual_size: virtualSize ?? next.virtual_size,
              });
            }
            return removeFrom(next, IMPORTING, [store]);
          });
          // Glance's order once the copy is stored: image.upload, image.activate (when this copy
          // made the image active), image.update.
          const context = { context: taskContext(task) };
          deps.notifier.emit('image.upload', { ...imagePayload(stored), ...importProgressPayload(stored) }, context);
          if (stored.status === 'active' && current.status !== 'active') deps.notifier.emit('image.activate', imagePayload(stored), context);
          deps.notifier.emit('image.update', imagePayload(stored), context);
          image = stored;
        } finally {
          await hold?.release();
        }
        await progress.setMessage(task, `Copied ${Math.floor(copied / MIB)} MiB`);
      }

      await deps.dropStaging(id);
      if (image.status !== 'active') throw new Invalid('None of the uploads finished!');
      // Glance's flow saves the image once more when it checks that it is active.
      deps.notifier.emit('image.update', imagePayload(image), { context: taskContext(task) });
      await progress.finish(task, 'success', `Copied ${Math.floor(copied / MIB)} MiB`, { image_id: id });
      // Glance's task.run comes once the whole run returned, with the task as it was handed over.
      deps.notifier.emit('task.run', taskPayload(task, clock.now()), { context: taskContext(task) });
    } catch (e) {
      if (taken) {
        // The node that took the task over failed it and recovered the image; reverting here
        // too could undo what happened since (a new stage, a new import).
        deps.onError('import stopped: its task was taken over by another node, which recovered the image', e, { task: task.id, image: id });
      } else {
        await revert(task, req, added, e, restore);
      }
    } finally {
      stopHeartbeat();
      running.delete(task.id);
      if (runningFor.get(id) === task.id) runningFor.delete(id);
      await deps.lock.release(id, task.id);
    }
  }

  async function runPlugins(task: Task, start: Image, req: ImportRequest, signal: AbortSignal): Promise<Image> {
    const id = task.image_id!;
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
      image = await update(task, (img) => ({
        ...img,
        ...(changes.disk_format !== undefined ? { disk_format: changes.disk_format } : {}),
        ...(changes.container_format !== undefined ? { container_format: changes.container_format } : {}),
        properties: { ...img.properties, ...(changes.properties ?? {}) },
      }));
    }
    return image;
  }

  /**
   * glance-download's _ImportMetadata: finds the remote Glance in the caller's catalog, reads
   * the image there (it must be active), gives the local image its formats and the properties
   * Glance copies, and returns the remote size and how to open its data.
   */
  async function readRemoteImage(task: Task, req: ImportRequest, signal: AbortSignal, changed: (restore: (image: Image) => Image) => void) {
    const g = req.glance;
    const remoteGlance = deps.remoteGlance;
    if (!g || !remoteGlance) throw new Invalid('glance-download is not available in this process');
    if (!g.token) throw new Invalid('glance-download needs the caller\'s Keystone token ([paste_deploy] flavor = keystone)');
    const token = g.token;
    const endpoint = findGlanceEndpoint(g.catalog, g.region, g.interface);
    const remote = await remoteGlance.image(endpoint, g.imageId, token, { signal });
    if (remote.status !== 'active') throw new Invalid(`Source image status should be active instead of ${pyStr(remote.status)}`);
    const properties = copiedProperties(remote, deps.glanceDownloadProperties ?? DEFAULT_EXTRA_PROPERTIES);
    const format = (key: 'disk_format' | 'container_format'): string => {
      const value = remote[key];
      if (typeof value !== 'string' || value === '') throw new Invalid(`Remote image ${g.imageId} has no ${key}`);
      return value;
    };
    const diskFormat = format('disk_format');
    const containerFormat = format('container_format');
    const size = remote.size;
    let before: Image | undefined;
    const image = await update(task, (img) => {
      before = img;
      return { ...img, disk_format: diskFormat, container_format: containerFormat, properties: { ...img.properties, ...properties } };
    });
    // Glance reads the size after setting the formats; its revert then puts them back.
    changed((img: Image): Image => {
      const props = { ...img.properties };
      for (const key of Object.keys(properties)) {
        const old = before!.properties[key];
        if (old === undefined) delete props[key];
        else props[key] = old;
      }
      return { ...img, disk_format: before!.disk_format, container_format: before!.container_format, properties: props };
    });
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new Invalid(`Size attribute of remote image ${g.imageId} could not be determined.`);
    }
    return {
      image,
      size,
      open: () => remoteGlance.open(endpoint, g.imageId, token, { sizeCap: deps.imageSizeCap, signal }),
    };
  }

  /** Undoes a failed import: its new copies, the staged data, the status (unless copy-image). */
  async function revert(
    task: Task,
    req: ImportRequest,
    added: { url: string; store: string }[],
    error: unknown,
    restore: ((image: Image) => Image) | undefined,
  ): Promise<void> {
    const id = task.image_id!;
    let message = error instanceof IrisError ? error.message : 'Import failed: internal error';
    if (req.method === 'glance-download') {
      // Glance reports any glance-download failure with its executor's catch-all message; the
      // cause goes to the log.
      message = GLANCE_DOWNLOAD_FAILURE;
      deps.onError('glance-download import failed', error, { task: task.id, image: id });
    } else if (!(error instanceof IrisError)) deps.onError('import task failed', error, { task: task.id, image: id });
    try {
      if (req.method !== 'copy-image') {
        for (const a of added) {
          await blobs.delete(a.url, a.store).catch((e: unknown) => {
            deps.onError('could not delete a copy of a failed import; orphan left', e, { image: id, task: task.id, location: a.url });
          });
        }
        const urls = new Set(added.map((a) => a.url));
        await update(task, (current) => {
          const img = restore ? restore(current) : current;
          const next = removeFrom({ ...img, locations: img.locations.filter((l) => !urls.has(l.url)) }, IMPORTING, req.stores);
          const failed = addTo(next, FAILED, req.stores);
          return img.status === 'importing' || img.status === 'uploading'
            ? transition(failed, 'queued', { size: null, checksum: null, os_hash_algo: null, os_hash_value: null })
            : failed;
        });
      } else {
        // Copies that finished stay; the stores not reached are the failed ones.
        const done = added.map((a) => a.store);
        const missed = req.stores.filter((s) => s !== null && !done.includes(s));
        await update(task, (img) => addTo(removeFrom(img, IMPORTING, req.stores), FAILED, missed));
      }
    } catch (e) {
      if (!(e instanceof NotFound)) deps.onError('could not revert image after failed import', e, { task: task.id, image: id });
    }
    await deps.dropStaging(id);
    await progress.finish(task, 'failure', message).catch((e) => deps.onError('could not fail import task', e, { task: task.id }));
  }

  return {
    /** Runs the task after the current request returns (asynchronous, as in Glance: 202). */
    start(task: Task, req: ImportRequest): void {
      setImmediate(() => {
        runTask(task, req).catch((e) => deps.onError('import task crashed', e, { task: task.id, image: task.image_id }));
      });
    },
    /** Aborts this process's import of the image, if any (the image was deleted). */
    abortFor(imageId: string): void {
      const taskId = runningFor.get(imageId);
      if (taskId !== undefined) running.get(taskId)?.abort(new Invalid('Image has been deleted, aborting import.'));
    },
    /** Aborts running imports (shutdown); their tasks are failed on the next start. */
    abortAll(): void {
      for (const c of running.values()) c.abort(new Invalid('Import interrupted by shutdown'));
    },
    /** How many imports this process is running. */
    get runningCount(): number {
      return running.size;
    },
  };
}
