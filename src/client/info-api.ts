/** `client.info`: what the cloud offers for import and storage (`/v2/info/*`). */
import type { Transport } from './http-transport.js';
import type { ImportInfo, StoresInfo } from './import-types.js';

export interface InfoApi {
  /**
   * The import methods this cloud enables (`GET /v2/info/import`).
   *
   * @example const methods = (await client.info.import())['import-methods'].value; // ['glance-direct', …]
   */
  import(options?: { signal?: AbortSignal }): Promise<ImportInfo>;
  /**
   * The stores of a multi-store cloud (`GET /v2/info/stores`); IrisApiError 404 when the
   * cloud has a single store.
   *
   * @example const { stores } = await client.info.stores(); // [{ id: 'local', default: 'true' }, …]
   */
  stores(options?: { signal?: AbortSignal }): Promise<StoresInfo>;
  /**
   * The stores with their driver type and settings (`GET /v2/info/stores/detail`, admin only).
   *
   * @example const { stores } = await client.info.storesDetail();
   */
  storesDetail(options?: { signal?: AbortSignal }): Promise<StoresInfo>;
}

export function createInfoApi(transport: Transport): InfoApi {
  const get = <T>(path: string, signal?: AbortSignal): Promise<T> => transport.json<T>({ method: 'GET', path, idempotent: true, signal });
  return {
    import: (options = {}) => get<ImportInfo>('/v2/info/import', options.signal),
    stores: (options = {}) => get<StoresInfo>('/v2/info/stores', options.signal),
    storesDetail: (options = {}) => get<StoresInfo>('/v2/info/stores/detail', options.signal),
  };
}
