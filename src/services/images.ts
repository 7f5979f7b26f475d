/**
 * Image use cases: create, show, list, update, delete, tags, deactivate/reactivate.
 * Plain orchestration over the ports; no HTTP, no SQL. Every action checks policy once,
 * and an image the caller may not see is NotFound, never Forbidden (as Glance).
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../domain/context.js';
import { Conflict, Forbidden, InUseByStore, Invalid, NotFound, TooLarge } from '../domain/errors.js';
import { deletionTarget, newImage, scheduleDelete, storeOf, transition, type Image, type ImageLocation, type Visibility } from '../domain/image.js';
import { parseCreateRequest } from '../domain/image-create.js';
import { applyPatch, parsePatch, type PatchDialect, type PatchOp } from '../domain/image-patch.js';
import { locationUrlsOf, type LocationPatchOptions, type LocationProbe } from '../domain/image-locations.js';
import type { Policy } from '../domain/policy.js';
import type {
  BlobStore,
  Clock,
  IdGenerator,
  ImageFilters,
  ImageRepository,
  MemberStatus,
  Notifier,
  SortDir,
  SortKey,
} from '../domain/ports.js';
import type { QuotaService } from './quotas.js';
import { deletedImagePayload, imagePayload } from '../notify/event-payloads.js';
import { createTransferWatches } from './transfer-watch.js';
import { STAGE_HOST } from './import/import-image-properties.js';
import { probeLocation as probeLocationUrl } from './location-probe.js';

export interface ImageServiceDeps {
  readonly images: ImageRepository;
  readonly blobs: BlobStore;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly notifier: Notifier;
  readonly formats: { readonly diskFormats: readonly string[]; readonly containerFormats: readonly string[] };
  readonly limits: { readonly limitParamDefault: number; readonly apiLimitMax: number };
  /** Glance's multi-store mode (enabled_backends): per-store data deletion exists only there. */
  readonly multiStore: boolean;
  /** [DEFAULT] delayed_delete: DELETE leaves an image with data in pending_delete for the scrubber. */
  readonly delayedDelete?: boolean;
  /** Removes staged import data of a deleted image (uploading/importing); idempotent. */
  readonly dropStaging?: (imageId: string) => Promise<void>;
  /**
   * This node's URL for the others (worker_self_reference_url, else public_endpoint): an image
   * whose recorded stage host is another URL is deleted by that node. Null or absent: none.
   */
  readonly selfUrl?: string | null;
  /** Called when deleting an image's data fails after the image row is gone (logged, not fatal). */
  readonly onOrphan?: (location: string, error: unknown) => void;
  /** Drops copies of the image's data outside the stores (the node's image cache); never throws. */
  readonly dataInvalidated?: (imageId: string) => Promise<void>;
  /** Tag and property quotas, Keystone's image_count_total; absent = none. */
  readonly quotas?: Pick<QuotaService, 'enforceLimits' | 'checkProperties' | 'checkTags' | 'tagLimitMessage' | 'checkLocations' | 'checkLocationStorage'>;
  /**
   * [DEFAULT] show_multiple_locations: JSON-patch on /locations is applied (docs/locations.md);
   * absent = every location operation is refused, as Glance with the option off.
   */
  readonly locationPatches?: {
    /** [DEFAULT] hashing_algorithm: the os_hash_algo validation_data must name. */
    readonly hashingAlgorithm: string;
    /** [import_filtering_opts] for http(s) location URLs (Glance's validate_uri). */
    readonly uriAllowed: (uri: string) => boolean;
  };
  /** A location URL could not be checked (its store failed); logged, the location is refused. */
  readonly onLocationProbeError?: (imageId: string, error: unknown) => void;
}

/** GET /v2/images as the HTTP layer parsed it (src/http/image-list-query.ts). */
/** What DELETE did: nothing left to do here, or the node that must delete (`stageHost`). */
export interface DeleteDecision {
  readonly stageHost?: string;
}

export interface ListRequest {
  readonly limit?: number;
  readonly marker?: string;
  readonly memberStatus: MemberStatus | 'all';
  readonly visibility?: Visibility | 'all';
  readonly filters: ImageFilters;
  readonly sort: readonly { readonly key: SortKey; readonly dir: SortDir }[];
}

export interface ImageListResult {
  readonly images: readonly Image[];
  /** Set when the page was full: the id to pass as `marker` for the next page. */
  readonly nextMarker?: string;
}

export type ImageService = ReturnType<typeof createImageService>;

export function createImageService(deps: ImageServiceDeps) {
  const { images, policy, clock } = deps;
  /** Uploads and stages running here, stopped the moment their image is deleted. */
  const transfers = createTransferWatches();

  /** The image if this caller may see it; NotFound with Glance's message otherwise. */
  async function findVisible(ctx: RequestContext, id: string, notFoundMessage?: string): Promise<Image> {
    const image = await images.get(id);
    if (image) {
      const membership = policy.needsMembership(ctx, image) ? await images.memberStatus(image.id, ctx.projectId!) : null;
      if (policy.canSee(ctx, image, membership)) return image;
    }
    throw new NotFound(notFoundMessage ?? `No image found with ID ${id}`);
  }

  /**
   * The image as this caller may read it: extra properties its property protections refuse
   * to `read` left out (Glance's ExtraPropertiesProxy).
   */
  function readable(ctx: RequestContext, image: Image): Image {
    const names = Object.keys(image.properties);
    const hidden = names.filter((name) => !policy.propertyAllowed(ctx, name, 'read'));
    if (hidden.length === 0) return image;
    const properties: Record<string, string> = {};
    for (const [name, value] of Object.entries(image.properties)) if (!hidden.includes(name)) properties[name] = value;
    return { ...image, properties };
  }

  /**
   * Saves `image` changed from `previous` (as loaded): only what changed is written, so a property
   * another node set meanwhile (the import lock) is kept.
   */
  async function saveChanged(ctx: RequestContext, image: Image, previous: Image, fromStatus = previous.status): Promise<Image> {
    const updated: Image = { ...image, updated_at: clock.now() };
    await images.save(updated, { fromStatus, previous });
    deps.notifier.emit('image.update', imagePayload(updated), { context: ctx });
    return updated;
  }

  /**
   * What the location operations of a patch need: each new URL asked of the stores once, before
   * the patch is applied (applying stays pure). Only for an image whose status lets locations
   * be added, and after set_image_location, so a refused caller makes no outbound request.
   */
  async function locationOptions(
    ctx: RequestContext,
    image: Image,
    ops: readonly PatchOp[],
    opts: NonNullable<ImageServiceDeps['locationPatches']>,
  ): Promise<LocationPatchOptions> {
    const probes = new Map<string, LocationProbe>();
    const urls = locationUrlsOf(ops);
    if (urls.length > 0 && (image.status === 'queued' || image.status === 'active')) {
      policy.enforce(ctx, 'set_image_location', image);
      for (const url of urls) probes.set(url, await probeLocation(image.id, url, opts.uriAllowed));
    }
    return {
      hashingAlgorithm: opts.hashingAlgorithm,
      hashDigestBytes: createHash(opts.hashingAlgorithm).digest().length,
      checkQuota: (attempted) => deps.quotas?.checkLocations(attempted),
      probe: (url) => probes.get(url) ?? { ok: false },
    };
  }

  async function probeLocation(imageId: string, url: string, uriAllowed: (uri: string) => boolean): Promise<LocationProbe> {
    return probeLocationUrl(
      { blobs: deps.blobs, multiStore: deps.multiStore, uriAllowed, ...(deps.onLocationProbeError ? { onError: deps.onLocationProbeError } : {}) },
      imageId,
      url,
    );
  }

  /**
   * Glance keeps an image's locations in the order their rows were created: a location added
   * at `/locations/0` is first in the PATCH answer but last from then on. Iris stores that order.
   */
  function storedOrder(before: Image, after: Image): ImageLocation[] {
    const urls = new Set(before.locations.map((l) => l.url));
    if (after.locations.some((l) => !urls.has(l.url)) && after.locations.length > 0 && before.locations.length > 0) {
      const kept = before.locations.map((l) => after.locations.find((a) => a.url === l.url)).filter((l) => l !== undefined);
      return [...kept, ...after.locations.filter((l) => !urls.has(l.url))];
    }
    return after.locations;
  }

  /** A removed location's data goes, as Glance's StoreLocations.pop (row saved first, as Iris's delete). */
  async function dropRemovedLocations(before: Image, after: Image): Promise<void> {
    const kept = new Set(after.locations.map((l) => l.url));
    for (const loc of before.locations) {
      if (kept.has(loc.url)) continue;
      try {
        await deps.blobs.delete(loc.url, storeOf(loc));
      } catch (e) {
        deps.onOrphan?.(loc.url, e);
      }
    }
  }

  return {
    findVisible,
    /** Watches a data transfer into image `id`: its signal aborts with `reason()` when the image is deleted here. */
    watchTransfer: transfers.watch,

    async create(ctx: RequestContext, body: unknown): Promise<Image> {
      // Glance runs its create policy (add_image on the proposed owner and visibility, then
      // publicize/communitize, then the same-owner check) between the body's schema checks
      // and the image factory's checks; parseCreateRequest calls back at that point.
      const req = parseCreateRequest(body, {
        ...deps.formats,
        authorize: (r) => policy.enforceCreate(ctx, { owner: r.owner, visibility: r.visibility }),
      });
      // Glance: image_count_total (Keystone limits, one more image) right after add_image.
      await deps.quotas?.enforceLimits(ctx.projectId, { image_count_total: 1 });
      // Glance's ProtectedImageFactoryProxy: every extra property must be creatable.
      for (const name of Object.keys(req.properties ?? {})) {
        if (!policy.propertyAllowed(ctx, name, 'create')) throw new Forbidden(`Attribute '${name}' is reserved.`);
      }
      // The image factory checks the tags, the repository's add the properties (Glance's quota layer).
      deps.quotas?.checkTags(req.tags ?? []);
      deps.quotas?.checkProperties(Object.keys(req.properties ?? {}));
      const visibility = req.visibility ?? 'shared';
      const now = clock.now();
      const image = newImage({
        id: req.id ?? deps.ids.uuid(),
        name: req.name ?? null,
        visibility,
        protected: req.protected ?? false,
        os_hidden: req.os_hidden ?? false,
        owner: req.owner !== undefined ? req.owner : ctx.projectId,
        virtual_size: null,
        disk_format: req.disk_format ?? null,
        container_format: req.container_format ?? null,
        min_ram: req.min_ram ?? 0,
        min_disk: req.min_disk ?? 0,
        created_at: now,
        updated_at: now,
        tags: [...(req.tags ?? [])],
        properties: { ...(req.properties ?? {}) },
      });
      try {
        await images.add(image);
      } catch (e) {
        if (e instanceof Conflict) throw new Conflict(`Image ID ${image.id} already exists!`);
        throw e;
      }
      deps.notifier.emit('image.create', imagePayload(image), { context: ctx });
      return readable(ctx, image);
    },

    async show(ctx: RequestContext, id: string): Promise<Image> {
      // Glance: the image lookup (visibility, 404) first, then get_image on the image.
      const image = await findVisible(ctx, id);
      policy.enforce(ctx, 'get_image', image);
      return readable(ctx, image);
    },

    async list(ctx: RequestContext, req: ListRequest): Promise<ImageListResult> {
      policy.enforce(ctx, 'get_images');
      const limit = Math.min(deps.limits.apiLimitMax, req.limit ?? deps.limits.limitParamDefault);
      if (limit === 0) return { images: [] };
      const page = await images.list({
        scope: policy.listScope(ctx, req.visibility, req.memberStatus),
        filters: req.filters,
        sort: req.sort,
        limit,
        marker: req.marker,
      });
      // Glance drops the images its get_image rule refuses after paging, and still offers a
      // next marker when the database page was full.
      const shown = page.filter((image) => policy.canList(ctx, image)).map((image) => readable(ctx, image));
      const last = shown[shown.length - 1];
      return { images: shown, nextMarker: page.length === limit && last ? last.id : undefined };
    },

    async update(ctx: RequestContext, id: string, dialect: PatchDialect, body: unknown): Promise<Image> {
      // Glance validates values while reading the body: a bad value is 400 before any 404.
      const ops = parsePatch(dialect, body, deps.formats);
      const image = await findVisible(ctx, id);
      // Property protections: the patch sees only the properties the caller may read.
      const view = readable(ctx, image);
      const { image: patchedView, changed } = applyPatch(view, ops, {
        ...deps.formats,
        isAdmin: ctx.isAdmin,
        // Glance's update_property, per operation: the visibility rule for any visibility
        // operation (even one that keeps the visibility), then modify_image; a location
        // removal checks delete_image_location.
        authorize: (check) => {
          if (check.kind === 'delete_locations') policy.enforce(ctx, 'delete_image_location', image);
          if (check.kind === 'set_locations') policy.enforce(ctx, 'set_image_location', image);
          if (check.kind !== 'property') return;
          if (check.name === 'visibility' && check.value === 'public') policy.enforce(ctx, 'publicize_image', image);
          if (check.name === 'visibility' && check.value === 'community') policy.enforce(ctx, 'communitize_image', image);
          policy.enforce(ctx, 'modify_image', image);
        },
        protectProperty: (name, op) => policy.propertyAllowed(ctx, name, op),
        ...(deps.locationPatches ? { locations: await locationOptions(ctx, image, ops, deps.locationPatches) } : {}),
      });
      // Properties the caller may not read stay as they are. (Glance saves only the readable
      // ones and its save purges the others: an update by such a caller loses them.)
      const patched: Image =
        view === image ? patchedView : { ...patchedView, properties: { ...image.properties, ...patchedView.properties } };
      for (const name of Object.keys(view.properties)) if (!Object.hasOwn(patchedView.properties, name)) delete patched.properties[name];
      // Glance lets a non-admin `add /owner` and refuses only once the image would be out of
      // the caller's sight; Iris refuses any hand-over to another project outright.
      if (changed.has('owner') && patched.owner !== image.owner && !ctx.isAdmin && patched.owner !== ctx.projectId) {
        throw new Forbidden(`Forbidding request, image ${id} not visible`);
      }
      if (changed.size === 0) return view;
      // Glance's quota layer: the tag list when it was set, every property when one was added.
      if (changed.has('tags')) deps.quotas?.checkTags(patched.tags);
      if (Object.keys(patched.properties).some((name) => !Object.hasOwn(image.properties, name))) {
        deps.quotas?.checkProperties(Object.keys(patched.properties));
      }
      if (!changed.has('locations')) return readable(ctx, await saveChanged(ctx, patched, image));
      // Glance's quota layer: the added locations' bytes (the image's size, else the probed
      // one, once per location) against user_storage_quota.
      const added = patched.locations.filter((l) => !image.locations.some((o) => o.url === l.url)).length;
      if (added > 0) await deps.quotas?.checkLocationStorage(ctx.projectId, patched.size ? patched.size * added : null);
      const saved = await saveChanged(ctx, { ...patched, locations: storedOrder(image, patched) }, image);
      await dropRemovedLocations(image, saved);
      // The answer shows the order the patch asked for, as Glance's does (its next read does not).
      return readable(ctx, { ...saved, locations: patched.locations });
    },

    /**
     * DELETE. With node-local staging, an image staged on another node is deleted by that node,
     * which holds the staged bytes (Glance's _delete_image_on_remote): the answer then names it
     * (`stageHost`) and the caller replays the request there. `local` deletes here anyway, for
     * a stage host that could not do it (its staged file stays behind, as in Glance).
     */
    async delete(ctx: RequestContext, id: string, opts: { readonly local?: boolean } = {}): Promise<DeleteDecision> {
      const image = await findVisible(ctx, id, `Failed to find image ${id} to delete`);
      policy.enforce(ctx, 'delete_image', image);
      const stageHost = image.properties[STAGE_HOST];
      if (opts.local !== true && stageHost !== undefined && stageHost !== (deps.selfUrl ?? null)) return { stageHost };
      if (image.protected) throw new Forbidden(`Image ${id} is protected and cannot be deleted.`);
      if (deletionTarget(image, deps.delayedDelete === true) === 'pending_delete') {
        // Delayed delete (Glance's schedule_delayed_delete_from_backend): the data stays, its
        // locations wait for the scrubber, and the image is gone for the API until restored.
        await images.markPendingDelete(scheduleDelete(image, { updated_at: clock.now() }), { fromStatus: image.status });
        transfers.deleted(id);
        if (deps.dropStaging) await deps.dropStaging(id).catch((e) => deps.onOrphan?.(`staging:${id}`, e));
        deps.notifier.emit('image.delete', { id });
        return {};
      }
      // Glance deletes the data first and keeps the image when the store refuses (RBD clones
      // depend on it); Iris removes the row first, so it asks the stores before.
      for (const loc of image.locations) {
        if (await deps.blobs.inUse?.(loc.url, storeOf(loc))) {
          const inUse = new InUseByStore();
          throw new InUseByStore(`Image ${id} could not be deleted because it is in use: ${inUse.message}`);
        }
      }
      // Row first, data second: a crash in between leaves an orphan blob (harmless, sweepable),
      // never an active image without data.
      await images.remove(id);
      deps.notifier.emit('image.delete', deletedImagePayload(image, clock.now()), { context: ctx });
      // A running upload or stage stops reading now rather than after its whole body.
      transfers.deleted(id);
      for (const loc of image.locations) {
        try {
          await deps.blobs.delete(loc.url, storeOf(loc));
          // So the scrubber's orphan sweep need not visit it (until recorded, it would, harmlessly).
          await images.recordDataDeleted(id, loc.url);
        } catch (e) {
          deps.onOrphan?.(loc.url, e);
        }
      }
      if (deps.dropStaging) await deps.dropStaging(id).catch((e) => deps.onOrphan?.(`staging:${id}`, e));
      await deps.dataInvalidated?.(id);
      return {};
    },

    /** DELETE /v2/stores/{store}/{id}: drops one store's copy of an image kept in several. */
    async deleteFromStore(ctx: RequestContext, store: string, id: string): Promise<void> {
      if (!deps.multiStore) throw new NotFound('The resource could not be found.');
      if (!deps.blobs.has(store)) throw new Conflict(`The selected store ${store} is not available on this node.`);
      const image = await findVisible(ctx, id, `Failed to find image ${id}`);
      policy.enforce(ctx, 'delete_image_location', image);
      if (image.status !== 'active') {
        throw new Conflict("It's not allowed to remove image data from store if image status is not 'active'");
      }
      if (image.locations.length === 1) {
        throw new Forbidden('Cannot delete image data from the only store containing it. Consider deleting the image instead.');
      }
      const index = image.locations.findIndex((l) => storeOf(l) === store);
      const location = image.locations[index];
      if (location === undefined) throw new NotFound(`Image ${id} is not stored in store ${store}.`);
      // Data first, then the record, as Glance's location pop: a failed delete keeps the location.
      try {
        await deps.blobs.delete(location.url, store);
      } catch (e) {
        if (e instanceof InUseByStore) {
          throw new InUseByStore(`The data for Image ${id} could not be deleted because it is in use: ${e.message}`);
        }
        throw e;
      }
      await saveChanged(ctx, { ...image, locations: image.locations.filter((_, i) => i !== index) }, image, 'active');
    },

    async addTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
      const image = await findVisible(ctx, id);
      policy.enforce(ctx, 'modify_image', image);
      if (tag.length > 255) throw new Invalid(`Tag '${tag.slice(0, 20)}…' is longer than 255 characters.`);
      // Glance counts the tag set after adding (an existing tag adds nothing).
      const overQuota = deps.quotas?.tagLimitMessage(new Set([...image.tags, tag]).size) ?? null;
      if (overQuota !== null) throw new TooLarge(`Image tag limit exceeded for image ${id}: ${overQuota}:`);
      if (image.tags.includes(tag)) return;
      await saveChanged(ctx, { ...image, tags: [...image.tags, tag] }, image);
    },

    async deleteTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
      const image = await findVisible(ctx, id);
      policy.enforce(ctx, 'modify_image', image);
      if (!image.tags.includes(tag)) throw new NotFound('The resource could not be found.');
      await saveChanged(ctx, { ...image, tags: image.tags.filter((t) => t !== tag) }, image);
    },

    async deactivate(ctx: RequestContext, id: string): Promise<void> {
      const image = await findVisible(ctx, id);
      policy.enforce(ctx, 'deactivate', image);
      if (image.status === 'deactivated') return;
      if (image.status !== 'active') {
        throw new Forbidden(`Not allowed to deactivate image in status '${image.status}'`);
      }
      await saveChanged(ctx, transition(image, 'deactivated'), image);
      // Glance's cache never serves a deactivated image; Iris drops this node's copy too.
      await deps.dataInvalidated?.(id);
    },

    async reactivate(ctx: RequestContext, id: string): Promise<void> {
      const image = await findVisible(ctx, id);
      policy.enforce(ctx, 'reactivate', image);
      if (image.status === 'active') return;
      if (image.status !== 'deactivated') {
        throw new Forbidden(`Not allowed to reactivate image in status '${image.status}'`);
      }
      await saveChanged(ctx, transition(image, 'active'), image);
    },
  };
}
