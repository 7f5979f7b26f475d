/** Glance-shaped options for the swift driver pointed at a test Swift, and a look at what it holds. */
import type { SwiftDriverOptions } from '../../src/blob/store-options.js';
import { warnCleanup } from '../../src/blob/cleanup-report.js';
import type { SwiftServer } from './swift-server.js';

/** Glance's defaults, auth v1 against `swift`'s main account, container `glance` made on put. */
export function swiftOptions(swift: SwiftServer, over: Partial<SwiftDriverOptions> = {}): SwiftDriverOptions {
  return {
    default_swift_reference: 'ref1',
    swift_store_config_file: null,
    swift_store_auth_address: swift.authUrl,
    swift_store_user: swift.user,
    swift_store_key: swift.key,
    swift_store_auth_version: '1',
    swift_store_auth_insecure: false,
    swift_store_cacert: null,
    swift_store_region: null,
    swift_store_endpoint: null,
    swift_store_endpoint_type: 'publicURL',
    swift_store_service_type: 'object-store',
    swift_store_container: 'glance',
    swift_store_create_container_on_put: true,
    swift_store_multiple_containers_seed: 0,
    swift_store_large_object_size: 5120,
    swift_store_large_object_chunk_size: 200,
    swift_store_retry_get_count: 0,
    swift_store_expire_soon_interval: 60,
    swift_buffer_on_upload: false,
    onCleanupError: warnCleanup,
    storeId: 'swift',
    ...over,
  };
}

/** Iris's environment (`IRIS__<SECTION>__<OPTION>`) for the swift options of one config section. */
function swiftSectionEnv(section: string, swift: SwiftServer, container: string): Record<string, string> {
  const at = `IRIS__${section.toUpperCase()}__`;
  return {
    [`${at}SWIFT_STORE_AUTH_VERSION`]: '1',
    [`${at}SWIFT_STORE_AUTH_ADDRESS`]: swift.authUrl,
    [`${at}SWIFT_STORE_USER`]: swift.user,
    [`${at}SWIFT_STORE_KEY`]: swift.key,
    [`${at}SWIFT_STORE_CONTAINER`]: container,
    [`${at}SWIFT_STORE_CREATE_CONTAINER_ON_PUT`]: 'true',
  };
}

/**
 * The environment for a started Iris (test/helpers/iris-server.ts) whose single store is `swift`
 * (`[glance_store] stores = swift`), auth v1 as the main account, `container` made on first put.
 *
 * @example startIris({ env: { ...swiftStoreEnv(swift, 'images'), IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true' } })
 */
export function swiftStoreEnv(swift: SwiftServer, container: string): Record<string, string> {
  return {
    IRIS__GLANCE_STORE__STORES: 'swift',
    IRIS__GLANCE_STORE__DEFAULT_STORE: 'swift',
    ...swiftSectionEnv('glance_store', swift, container),
  };
}

/** The same options in the section of the multi-store backend `backend` (`enabled_backends = <backend>:swift`). */
export function swiftBackendEnv(swift: SwiftServer, container: string, backend: string): Record<string, string> {
  return swiftSectionEnv(backend, swift, container);
}

/** The names in `container` of the main account ([] when it does not exist). */
export async function listContainer(swift: SwiftServer, container: string, prefix = ''): Promise<string[]> {
  const { storageUrl, token } = await swift.auth();
  const res = await fetch(`${storageUrl}/${encodeURIComponent(container)}?format=json&prefix=${encodeURIComponent(prefix)}`, {
    headers: { 'x-auth-token': token },
  });
  if (res.status === 404 || res.status === 204) {
    await res.arrayBuffer();
    return [];
  }
  if (res.status !== 200) throw new Error(`listing ${container}: ${res.status}`);
  return ((await res.json()) as Array<{ name: string }>).map((o) => o.name);
}
