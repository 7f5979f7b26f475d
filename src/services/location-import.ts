/**
 * The v2.17 locations API, as upstream Glance (2024.2 and later): `add` checks the request and
 * answers at once (202); the location is then added in the background as upstream's
 * location_import flow does (glance/async_/flows/location_import.py): appended after the
 * store checks, the data read through its store and hashed (md5 + the algorithm), compared
 * with validation_data, the image made active; on a mismatch or a failed read the image goes
 * back to queued without hashes (an http location stays, as upstream). `list` is the
 * service-only `GET /v2/images/{id}/locations`. Independent of show_multiple_locations.
 */
import type { RequestContext } from '../domain/context.js';
import { Conflict, Forbidden } from '../domain/errors.js';
import type { Image, ImageLocation } from '../domain/image.js';
import {
  assertLocationAddable,
  hashed,
  hashingStarted,
  locationActive,
  locationImportReverted,
  parseAddLocationRequest,
  withAddedLocation,
  type AddLocationRequest,
} from '../domain/location-import.js';
import type { Policy } from '../domain/policy.js';
import type { BlobStore, Clock, ImageRepository, Notifier } from '../domain/ports.js';
import { imagePayload } from '../notify/event-payloads.js';
import { createDigester } from '../blob/hashing-stream.js';
import type { ImageService } from './images.js';
import type { QuotaService } from './quotas.js';
import { probeLocation, type LocationProbeDeps } from './location-probe.js';

export interface LocationImportDeps {
  readonly images: ImageRepository;
  readonly blobs: Pick<BlobStore, 'get' | 'locate'>;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly imageService: Pick<ImageService, 'findVisible'>;
  /** [DEFAULT] hashing_algorithm: the algorithm when validation_data names none. */
  readonly hashingAlgorithm: string;
  /** [DEFAULT] do_secure_hash: read the data and hash it (else take validation_data as given). */
  readonly doSecureHash: boolean;
  /** [DEFAULT] http_retries: reads of the data tried before the hash is given up. */
  readonly httpRetries: number;
  /** Whether an http store is configured: callers without the service role may only add http URLs then. */
  readonly httpStoreConfigured: boolean;
  readonly probe: Omit<LocationProbeDeps, 'blobs'>;
  /** image_location_quota and user_storage_quota, as Glance's quota layer on append; absent = none. */
  readonly quotas?: Pick<QuotaService, 'checkLocations' | 'checkLocationStorage'>;
  /** A background step failed; logged with the image id (never lost). */
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

export type LocationImportService = ReturnType<typeof createLocationImportService>;

/** Why the background flow stopped; the image has been put back as upstream's reverts leave it. */
class LocationImportFailed extends Error {}

export function createLocationImportService(deps: LocationImportDeps) {
  const { images, policy } = deps;
  const running = new Set<Promise<void>>();
  /** Images with a flow running in this process. */
  const busy = new Set<string>();

  async function save(ctx: RequestContext, image: Image, previous: Image): Promise<Image> {
    const updated: Image = { ...image, updated_at: deps.clock.now() };
    await images.save(updated, { fromStatus: previous.status, previous });
    deps.notifier.emit('image.update', imagePayload(updated), { context: ctx });
    return updated;
  }

  async function current(id: string): Promise<Image> {
    const image = await images.get(id);
    if (image === null) throw new LocationImportFailed('the image was deleted');
    return image;
  }

  /** md5 and `algo` of the location's data, read through its store; tried http_retries times. */
  async function digestsOf(image: Image, location: ImageLocation, algo: string): Promise<{ md5: string; multihash: string }> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= Math.max(1, deps.httpRetries); attempt++) {
      const digester = createDigester(algo);
      try {
        const store = typeof location.metadata.store === 'string' ? location.metadata.store : null;
        const { stream } = await deps.blobs.get(location.url, { store, image: image.id });
        for await (const chunk of stream) await digester.update(chunk as Buffer);
        return await digester.digest();
      } catch (e) {
        digester.destroy?.();
        lastError = e;
        deps.onError('reading a new location for its hash failed', e, { image: image.id, attempt, retries: deps.httpRetries });
      }
    }
    throw new LocationImportFailed(`Hash calculation failed for image ${image.id} data`, { cause: lastError });
  }

  /** The flow of upstream's get_flow, step by step, each state saved through the entity's transitions. */
  async function run(ctx: RequestContext, id: string, request: AddLocationRequest): Promise<void> {
    const vd = request.validationData;
    // _UpdateLocationTask: the store checks of StoreLocations.append.
    const queued = await current(id);
    // Another request may have moved it since the 202 (an upload, a second node's flow).
    assertLocationAddable(queued);
    const found = await probeLocation({ ...deps.probe, blobs: deps.blobs }, id, request.url);
    if (!found.ok || !(found.size > 0)) throw new LocationImportFailed('Invalid location');
    const location: ImageLocation = { url: request.url, metadata: found.store !== undefined ? { store: found.store } : {}, status: 'active' };
    // StoreLocations.insert's duplicate check: the same URL with the same metadata.
    if (queued.locations.some((l) => l.url === location.url && JSON.stringify(l.metadata) === JSON.stringify(location.metadata))) {
      throw new LocationImportFailed(`The location ${request.url} already exists`);
    }
    // Glance's quota layer on append: one more location, and its bytes.
    deps.quotas?.checkLocations(queued.locations.length + 1);
    await deps.quotas?.checkLocationStorage(ctx.projectId, queued.size || found.size);
    let image = await save(ctx, withAddedLocation(queued, location, found.size), queued);

    if (!deps.doSecureHash) {
      // _SetHashValues then _SetImageToActiveTask: the values as given, unchecked.
      await save(ctx, locationActive(image, vd ? { os_hash_algo: vd.os_hash_algo, os_hash_value: vd.os_hash_value } : {}), image);
      return;
    }
    const algo = vd?.os_hash_algo ?? deps.hashingAlgorithm;
    if (vd === undefined) {
      // Active first; the hash follows, and a failed read only leaves it unset (a warning upstream).
      image = await save(ctx, locationActive({ ...image, os_hash_algo: algo }), image);
      try {
        const digests = await digestsOf(image, location, algo);
        const latest = await current(id);
        await save(ctx, hashed(latest, digests.md5, digests.multihash), latest);
      } catch (e) {
        deps.onError('the hash of an added location could not be computed; the image stays active without it', e, { image: id });
      }
      return;
    }
    image = await save(ctx, hashingStarted(image, algo), image);
    let digests: { md5: string; multihash: string };
    try {
      digests = await digestsOf(image, location, algo);
    } catch (e) {
      const latest = await current(id);
      await save(ctx, locationImportReverted(latest, request.url, false), latest);
      throw e;
    }
    const latest = await current(id);
    image = await save(ctx, hashed(latest, digests.md5, digests.multihash), latest);
    if (digests.multihash !== vd.os_hash_value) {
      // _VerifyValidationData's revert (and _CalculateHash's after it).
      await save(ctx, locationImportReverted(image, request.url, true), image);
      throw new LocationImportFailed(`os_hash_value: (${vd.os_hash_value}) not matched with actual os_hash_value: (${digests.multihash})`);
    }
    await save(ctx, locationActive(image), image);
  }

  return {
    /**
     * POST /v2/images/{id}/locations: checks and starts the background flow (202 once this
     * resolves). @throws Invalid (400) body or hash; NotFound; Conflict (409) not queued;
     * Forbidden (403) policy add_image_location, or a non-http URL from a non-service caller.
     */
    async add(ctx: RequestContext, id: string, body: unknown): Promise<void> {
      const request = parseAddLocationRequest(body);
      const image = await deps.imageService.findVisible(ctx, id);
      assertLocationAddable(image);
      policy.enforce(ctx, 'add_image_location', image);
      const roles = [...ctx.roles, ...(ctx.serviceRoles ?? [])];
      if (!roles.includes('service') && !(request.url.startsWith('http') && deps.httpStoreConfigured)) {
        throw new Forbidden('http store must be enabled to use location API by normal user.');
      }
      // Upstream's import lock, per process: one flow per image at a time (across nodes the
      // compare-and-swap saves refuse the second flow's status changes).
      if (busy.has(id)) throw new Conflict(`New operation on image '${id}' is not permitted as prior operation is still in progress`);
      busy.add(id);
      // Fire and forget, as upstream's task pool; every failure is logged with the image id.
      const flow = run(ctx, id, request)
        .catch((e: unknown) => deps.onError('adding a location failed', e, { image: id, url: request.url }))
        .finally(() => {
          busy.delete(id);
          running.delete(flow);
        });
      running.add(flow);
    },

    /** GET /v2/images/{id}/locations (policy fetch_image_location): `{url, metadata}` per location. */
    async list(ctx: RequestContext, id: string): Promise<{ url: string; metadata: Record<string, unknown> }[]> {
      const image = await deps.imageService.findVisible(ctx, id);
      policy.enforce(ctx, 'fetch_image_location', image);
      return image.locations.map((l) => ({ url: l.url, metadata: { ...l.metadata } }));
    },

    /** Resolves when no flow is running (shutdown). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
