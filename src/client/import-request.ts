/** The body of `POST /v2/images/{id}/import`, from the SDK's typed import options. */
import type { ImportOptions } from './import-types.js';

/**
 * The body for `options`, as glanceclient builds it; `store` is not in it (it travels as the
 * `X-Image-Meta-Store` header).
 *
 * @example importRequestBody({ method: 'copy-image', stores: ['slow'], allStoresMustSucceed: false })
 *   // { method: { name: 'copy-image' }, stores: ['slow'], all_stores_must_succeed: false }
 */
export function importRequestBody(options: ImportOptions): Record<string, unknown> {
  const method: Record<string, unknown> = { name: options.method };
  if (options.uri !== undefined) method.uri = options.uri;
  if (options.glanceRegion !== undefined) method.glance_region = options.glanceRegion;
  if (options.glanceImageId !== undefined) method.glance_image_id = options.glanceImageId;
  if (options.glanceServiceInterface !== undefined) method.glance_service_interface = options.glanceServiceInterface;
  const body: Record<string, unknown> = { method };
  if (options.stores !== undefined && options.stores.length > 0) body.stores = [...options.stores];
  if (options.allStores) body.all_stores = true;
  if (options.allStoresMustSucceed !== undefined) body.all_stores_must_succeed = options.allStoresMustSucceed;
  return body;
}
