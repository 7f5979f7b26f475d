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
