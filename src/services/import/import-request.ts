/**
 * The import request (Glance 25.1.0's import_image and its deserializer): the body's own checks,
 * the image's state, policy, the lock, store selection; then the task is recorded under the
 * lock and handed to the runner. The order of the checks is Glance's, so the same request gets
 * the same error.
 */
import { recordedRequestId, type RequestContext } from '../../domain/context.js';
import { Conflict, Invalid } from '../../domain/errors.js';
import { checkGlanceDownloadMethod, type GlanceDownloadMethod } from '../../domain/glance-download.js';
import { storeOf, type Image } from '../../domain/image.js';
import type { ImportMethod } from '../../domain/import-method.js';
import type { Policy } from '../../domain/policy.js';
import type { BlobStore, Clock, IdGenerator, ImageRepository, Notifier, TaskRepository, WebSource } from '../../domain/ports.js';
import { pyStr } from '../../domain/py-format.js';
import { newTask, type Task } from '../../domain/task.js';
import type { ImageService } from '../images.js';
import type { QuotaService } from '../quotas.js';
import { FAILED, IMPORTING, removeFrom, STAGE_HOST, updateImage } from './import-image-properties.js';
import type { ImportLock } from './import-lock.js';
import type { ImportRequest, ImportRunner } from './import-runner.js';
import type { TaskLeases } from './task-lease.js';
import { taskPayload } from '../../notify/event-payloads.js';

export interface ImportRequestDeps {
  readonly images: ImageRepository;
  readonly tasks: TaskRepository;
  readonly blobs: BlobStore;
  readonly policy: Policy;
  readonly clock: Clock;
  /** task.create once the import task is stored. */
  readonly notifier: Notifier;
  readonly ids: IdGenerator;
  readonly imageService: Pick<ImageService, 'findVisible'>;
  readonly multiStore: boolean;
  readonly web: Pick<WebSource, 'passesFilter'>;
  readonly lock: Pick<ImportLock, 'checkFree' | 'acquire' | 'undo'>;
  readonly runner: Pick<ImportRunner, 'start'>;
  readonly leases: Pick<TaskLeases, 'leaseFrom'>;
  /**
   * This node's URL for the others (worker_self_reference_url, else public_endpoint), or null:
   * a glance-direct import of an image another node staged is proxied to that node.
   */
  readonly selfUrl?: string | null;
  /** Keystone limits; absent = none. */
  readonly quotas?: Pick<QuotaService, 'enforceLimits'>;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

/** What became of an import request: started here, or to be proxied to the node that staged the data. */
export interface ImportDecision {
  /** The URL of the node holding the staged data (os_glance_stage_host), when not this one. */
  readonly stageHost?: string;
}

/**
 * POST /v2/images/{id}/import as the HTTP layer checked it (src/http/import-body.ts). What
 * Glance checks only later (the stores, the uri) is kept as sent, to be checked in its order.
 */
export interface ImportCall {
  readonly method: ImportMethod;
  /** `method.uri` as sent (web-download). */
  readonly uri: unknown;
  readonly allStores: boolean;
  readonly allStoresMustSucceed: boolean;
  /** The `stores` member as sent, when the body has one. */
  readonly stores?: { readonly value: unknown };
  /** The x-image-meta-store header. */
  readonly headerStore?: string;
  /** The body as sent: the task records it as `import_req`. */
  readonly body: Record<string, unknown>;
}

/** Whether the image can be the target of `method` now (Glance's order of checks). */
export function checkImportTarget(image: Image, method: ImportMethod): void {
  if (image.status === 'active' && method !== 'copy-image') {
    throw new Conflict('Image with status active cannot be target for import');
  }
  if (image.status !== 'active' && method === 'copy-image') {
    throw new Conflict('Only images with status active can be targeted for copying');
  }
  if (image.status !== 'queued' && (method === 'web-download' || method === 'glance-download')) {
    throw new Conflict(`Image needs to be in 'queued' state to use '${method}' method`);
  }
  if (image.status !== 'uploading' && method === 'glance-direct') {
    throw new Conflict("Image needs to be staged before 'glance-direct' method can be used");
  }
  if (!image.container_format) throw new Conflict("'container_format' needs to be set before import");
  if (!image.disk_format) throw new Conflict("'disk_format' needs to be set before import");
}

/** Glance's get_stores_from_request. */
export function storesOfRequest(blobs: BlobStore, call: ImportCall): string[] {
  const { headerStore } = call;
  let stores: unknown;
  if (call.allStores) {
    if (call.stores !== undefined || headerStore !== undefined) {
      throw new Invalid("All_stores parameter can't be used with x-image-meta-store header or stores parameter");
    }
    stores = [...blobs.stores];
  } else if (call.stores !== undefined) {
    if (headerStore !== undefined) throw new Invalid("Stores parameter and x-image-meta-store header can't be both specified");
    stores = call.stores.value;
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

export function createImportRequests(deps: ImportRequestDeps) {
  const { images, tasks, policy, clock, lock } = deps;

  /** A busted lock's task left its stores in the image's import lists: clear them. */
  async function cleanupStaleProgress(id: string, old: Task): Promise<void> {
    const backend = (old.input?.backend as (string | null)[] | undefined) ?? [];
    await updateImage(deps, id, (image) => removeFrom(removeFrom(image, IMPORTING, backend), FAILED, backend));
  }

  return {
    /**
     * Checks the request, records the task under the lock and starts it (the caller answers
     * 202). When the image's data is staged on another node (glance-direct with node-local
     * staging), nothing is recorded here: the answer names that node (`stageHost`) and the
     * caller replays the request there with the caller's credentials, as Glance does.
     */
    async importImage(ctx: RequestContext, id: string, call: ImportCall): Promise<ImportDecision> {
      const { method, uri, allStoresMustSucceed } = call;
      let raw = call.body;
      // Glance: image_size_total (Keystone limits, delta 0) before anything else.
      await deps.quotas?.enforceLimits(ctx.projectId, { image_size_total: 0 });
      const image = await deps.imageService.findVisible(ctx, id);
      checkImportTarget(image, method);
      let glance: GlanceDownloadMethod | undefined;
      if (method === 'glance-download') {
        // The task records the method with the interface's default filled in, as Glance's.
        const checked = checkGlanceDownloadMethod(raw.method as Record<string, unknown>);
        glance = checked.method;
        raw = { ...raw, method: checked.recorded };
      }
      policy.enforce(ctx, method === 'copy-image' ? 'copy_image' : 'modify_image', image);
      const stolenFrom = await lock.checkFree(image);

      let stores: (string | null)[] = [null];
      if (deps.multiStore) stores = storesOfRequest(deps.blobs, call);
      if (method === 'copy-image') {
        const present = image.locations.map(storeOf);
        if (call.allStores) {
          stores = stores.filter((s) => !present.includes(s));
          if (stores.length === 0) return {}; // already everywhere: nothing to do, still 202
        } else {
          const already = stores.find((s) => present.includes(s));
          if (already !== undefined) throw new Invalid(`Image is already present at store '${already}'`);
        }
      }
      if (!allStoresMustSucceed && !deps.multiStore) {
        throw new Invalid(`All_stores_must_succeed can only be set with enabled_backends ${pyStr(uri)}`);
      }
      // Glance's is_proxyable, at the same point of its checks.
      const stageHost = image.properties[STAGE_HOST];
      if (method === 'glance-direct' && stageHost !== undefined && stageHost !== (deps.selfUrl ?? null)) return { stageHost };
      if (method === 'web-download' && (typeof uri !== 'string' || !deps.web.passesFilter(uri))) {
        throw new Invalid(`URI for web-download does not pass filtering: ${pyStr(uri)}`);
      }

      const now = clock.now();
      const task = newTask({
        id: deps.ids.uuid(),
        type: 'api_image_import',
        // Glance needs a project here (its column is NOT NULL and a project-less admin gets a 500);
        // Iris records the image's owner instead, or '' when there is none.
        owner: ctx.projectId ?? image.owner ?? '',
        image_id: id,
        request_id: recordedRequestId(ctx),
        user_id: ctx.userId,
        created_at: now,
        input: { image_id: id, import_req: raw, backend: stores },
        // Leased by this process from the start, so no node takes over a task about to run.
        lease: deps.leases.leaseFrom(now),
      });
      await lock.acquire(id, task.id);
      if (stolenFrom) {
        await cleanupStaleProgress(id, stolenFrom).catch((e: unknown) => {
          deps.onError('could not clear the progress of a preempted import', e, { image: id, task: stolenFrom.id });
        });
      }
      try {
        await tasks.add(task);
      } catch (e) {
        await lock.undo(id, task.id);
        throw e;
      }
      deps.notifier.emit('task.create', taskPayload(task, now), { context: ctx });
      const request: ImportRequest = {
        method,
        uri: typeof uri === 'string' ? uri : undefined,
        stores,
        allStoresMustSucceed,
        body: raw,
        roles: ctx.roles,
        projectId: ctx.projectId,
        ...(glance ? { glance: { ...glance, token: ctx.authToken, catalog: ctx.serviceCatalog ?? [] } } : {}),
      };
      deps.runner.start(task, request);
      return {};
    },
  };
}
