/**
 * The reserved image properties an import keeps its state in (Glance 25.1.0's names) and the
 * helpers that edit their comma lists. Shared by the request, the runner and start recovery.
 */
import { NotFound } from '../../domain/errors.js';
import type { Image } from '../../domain/image.js';
import type { Clock, ImageRepository } from '../../domain/ports.js';

/** The import lock: the id of the task holding the image. */
export const LOCK = 'os_glance_import_task';
/** Stores still to receive the data. */
export const IMPORTING = 'os_glance_importing_to_stores';
/** Stores that failed. */
export const FAILED = 'os_glance_failed_import';
export const STAGE_HOST = 'os_glance_stage_host';

export function listProp(image: Image, key: string): string[] {
  const raw = image.properties[key];
  return raw === undefined || raw === '' ? [] : raw.split(',');
}

function withList(image: Image, key: string, values: readonly string[]): Image {
  return { ...image, properties: { ...image.properties, [key]: values.join(',') } };
}

export function addTo(image: Image, key: string, stores: readonly (string | null)[]): Image {
  const current = listProp(image, key);
  for (const s of stores) if (s !== null && !current.includes(s)) current.push(s);
  return withList(image, key, current);
}

export function removeFrom(image: Image, key: string, stores: readonly (string | null)[]): Image {
  return withList(image, key, listProp(image, key).filter((s) => !stores.includes(s)));
}

/** Reads the image, applies `change`, saves it compare-and-swap on the status it was read in. */
export async function updateImage(
  deps: { readonly images: ImageRepository; readonly clock: Clock },
  id: string,
  change: (image: Image) => Image,
): Promise<Image> {
  const image = await deps.images.get(id);
  if (!image) throw new NotFound(`No image found with ID ${id}`);
  const next = { ...change(image), updated_at: deps.clock.now() };
  await deps.images.save(next, { fromStatus: image.status, previous: image });
  return next;
}
