/**
 * The options each store type's driver factory receives: exactly Glance's option names for that
 * type (glance_store 4.x, `_drivers/{swift/store.py,swift/utils.py,s3.py,http.py}`), already
 * parsed and validated by the configuration loader, in Glance's units. They come from
 * `[glance_store]` (single store) or from the store's own section `[<id>]` (enabled_backends).
 * Unset options without a Glance default are `null`.
 *
 * Every factory also gets a {@link StoreDriverContext}.
 *
 * @example
 * export function createSwiftDriver(opts: SwiftDriverOptions): BlobDriver { ... }
 */
import type { CleanupReporter } from './cleanup-report.js';

/** What every driver factory gets besides its type's options. */
export interface StoreDriverContext {
  /** Where leftovers that could not be removed after a failed write are reported (with the image id). */
  readonly onCleanupError: CleanupReporter;
  /** The store's id: `enabled_backends` id, or the type name for the single store (`swift`). */
  readonly storeId: string;
}

/** `swift` store (glance_store `_drivers/swift`). Sizes in MB (Glance's unit), times in seconds. */
export interface SwiftStoreOptions {
  /** Reference (section) in `swift_store_config_file` holding the account to use. Default `ref1`. */
  readonly default_swift_reference: string;
  /** `swift_store_config_file`: absolute path of the accounts file (sections with auth_address, user, key, auth_version, …); null = credentials from the options below. */
  readonly swift_store_config_file: string | null;
  /** Keystone (v2/v3) or tempauth (v1) URL; null when swift_store_config_file is used. */
  readonly swift_store_auth_address: string | null;
  /** `project:user` for Keystone, `account:user` for tempauth. */
  readonly swift_store_user: string | null;
  readonly swift_store_key: string | null;
  /** Glance default `'2'`; `'1'` = tempauth/swauth, `'2'` and `'3'` = Keystone. */
  readonly swift_store_auth_version: '1' | '2' | '3';
  /** Skip TLS verification of the auth and storage URLs. Default false. */
  readonly swift_store_auth_insecure: boolean;
  /** CA bundle for TLS verification; null = the system's. */
  readonly swift_store_cacert: string | null;
  /** Keystone catalog region; null = the first object-store endpoint. */
  readonly swift_store_region: string | null;
  /** Storage URL to use instead of the catalog's (e.g. `https://swift.example.com/v1/AUTH_x`); null = from auth. */
  readonly swift_store_endpoint: string | null;
  /** Default `publicURL`. */
  readonly swift_store_endpoint_type: 'publicURL' | 'adminURL' | 'internalURL';
  /** Default `object-store`. */
  readonly swift_store_service_type: string;
  /** Container (or container prefix with multiple_containers_seed). Default `glance`. */
  readonly swift_store_container: string;
  /** Default false. */
  readonly swift_store_create_container_on_put: boolean;
  /** 0 (default) = one container; 1-32 = `<container>_<first N chars of the image id>`. */
  readonly swift_store_multiple_containers_seed: number;
  /** MB (min 1). Objects larger than this are written as segments + manifest. Default 5120. */
  readonly swift_store_large_object_size: number;
  /** MB (min 1). Segment size. Default 200. */
  readonly swift_store_large_object_chunk_size: number;
  /** Times a broken download is resumed from the byte it reached. Default 0. */
  readonly swift_store_retry_get_count: number;
  /** Seconds before a token's expiry when it is renewed before a request. Default 60. */
  readonly swift_store_expire_soon_interval: number;
  /** Accepted for Glance compatibility and ignored (Iris never buffers uploads to disk). */
  readonly swift_buffer_on_upload: boolean;
}

/** `s3` store (glance_store `_drivers/s3.py`). Sizes in MB (Glance's unit). */
export interface S3StoreOptions {
  /** Endpoint host or URL, e.g. `http://127.0.0.1:8080` or `s3.amazonaws.com`. Required. */
  readonly s3_store_host: string;
  /** Required; may contain `:` (kept whole, unlike Glance's driver). */
  readonly s3_store_access_key: string;
  /** Required. */
  readonly s3_store_secret_key: string;
  /** Required. */
  readonly s3_store_bucket: string;
  /** Default false. */
  readonly s3_store_create_bucket_on_put: boolean;
  /** Default `auto`. */
  readonly s3_store_bucket_url_format: 'auto' | 'virtual' | 'path';
  /** Region to sign for; null = derived from s3_store_host as glance_store does (newer glance_store option). */
  readonly s3_store_region_name: string | null;
  /** MB. Objects at or above this use a multipart upload. Default 100. */
  readonly s3_store_large_object_size: number;
  /** MB (min 5). Part size. Default 10. */
  readonly s3_store_large_object_chunk_size: number;
  /** Parts uploaded in parallel. Default 10. */
  readonly s3_store_thread_pools: number;
  /** CA bundle for TLS verification; null = the system's (newer glance_store option). */
  readonly s3_store_cacert: string | null;
}

/** `http` store (glance_store `_drivers/http.py`), read-only. */
export interface HttpStoreOptions {
  /** Default true in Glance: https certificates are NOT verified unless set to false. */
  readonly https_insecure: boolean;
  /** CA bundle used when https_insecure is false; null = the system's. */
  readonly https_ca_certificates_file: string | null;
  /** Proxy per URL scheme, from `http:http://proxy:3128,https:http://proxy:3128`. Default {}. */
  readonly http_proxy_information: Readonly<Record<string, string>>;
}

/** `rbd` store (glance_store `_drivers/rbd.py`): Ceph RBD. Chunk size in MiB, timeout in seconds. */
export interface RbdStoreOptions {
  /** Pool images are written to. Default `images`. */
  readonly rbd_store_pool: string;
  /** RADOS user without `client.`; null = librados's default (from the conf's [client] section). */
  readonly rbd_store_user: string | null;
  /** ceph.conf path; null = librados's default search (CEPH_CONF, /etc/ceph/ceph.conf, …). */
  readonly rbd_store_ceph_conf: string | null;
  /** MiB (min 1): the objects of each RBD image (order = log2), and the unit of writes. Default 8. */
  readonly rbd_store_chunk_size: number;
  /** Seconds to wait for the cluster on connect; ≤ 0 = librados's default. Default 0. */
  readonly rados_connect_timeout: number;
  /** Chunks of zeros are not written (they read back as zeros). Default false. */
  readonly rbd_thin_provisioning: boolean;
}

/** `file` store (glance_store `_drivers/filesystem.py`); the options Iris uses. */
export interface FileStoreOptions {
  /** Absolute path. */
  readonly filesystem_store_datadir: string;
}

export type SwiftDriverOptions = SwiftStoreOptions & StoreDriverContext;
export type S3DriverOptions = S3StoreOptions & StoreDriverContext;
export type HttpDriverOptions = HttpStoreOptions & StoreDriverContext;
export type RbdDriverOptions = RbdStoreOptions &
  StoreDriverContext & {
    /** librbd writes in flight per upload (default 3); tests and benchmarks tune it. */
    readonly writesInFlight?: number;
    /** librbd reads in flight per download (default 3). */
    readonly readsInFlight?: number;
  };

/** The store types Iris knows, with their options. */
export interface StoreTypeOptions {
  readonly file: FileStoreOptions;
  readonly swift: SwiftStoreOptions;
  readonly s3: S3StoreOptions;
  readonly http: HttpStoreOptions;
  readonly rbd: RbdStoreOptions;
}

export type StoreType = keyof StoreTypeOptions;
