/**
 * The typed, frozen configuration. Option names are Glance's (glance-api.conf) so an
 * operator's existing file mostly carries over. Loaded by `load-config.ts`.
 */
import type { HealthBackend } from '../health/health-checks.js';
import type { HttpStoreOptions, RbdStoreOptions, S3StoreOptions, SwiftStoreOptions } from '../blob/store-options.js';

/** One image store (Glance backend): its id, its type and that type's options. */
export type BackendConfig = BackendCommon &
  (
    | {
        readonly type: 'file';
        /** Absolute path. */
        readonly filesystem_store_datadir: string;
      }
    | { readonly type: 'swift'; readonly options: SwiftStoreOptions }
    | { readonly type: 's3'; readonly options: S3StoreOptions }
    | { readonly type: 'http'; readonly options: HttpStoreOptions }
    | { readonly type: 'rbd'; readonly options: RbdStoreOptions }
  );

/** The s3 group as read, before the required options are checked (only when s3 is used). */
type OrNull<T> = { readonly [K in keyof T]: T[K] | null };

interface BackendCommon {
  readonly id: string;
  /** Shown by GET /v2/info/stores; null = none given. */
  readonly store_description: string | null;
  /** True for the stores of a configuration without enabled_backends (no `stores` field, no store metadata). */
  readonly legacy: boolean;
}

export type AuthFlavor = 'hybrid' | 'noauth' | 'keystone' | 'apikey';

export interface Config {
  readonly DEFAULT: {
    /** Iris default 127.0.0.1 (Glance: 0.0.0.0). */
    readonly bind_host: string;
    readonly bind_port: number;
    /** Seconds an idle client connection is kept (Glance default 900); 0 = forever. */
    readonly client_socket_timeout: number;
    readonly workers: number;
    /** Bytes; Glance default 1 TiB (1099511627776). */
    readonly image_size_cap: number;
    readonly limit_param_default: number;
    readonly api_limit_max: number;
    readonly show_image_direct_url: boolean;
    /** Node/openssl digest name; Glance default sha512. */
    readonly hashing_algorithm: string;
    /** Bytes, 0 = unlimited. Glance accepts units (e.g. 10GB); parsed to bytes. */
    readonly user_storage_quota: number;
    /** Members per image; negative = unlimited. Glance default 128. */
    readonly image_member_quota: number;
    /** Glance's delayed delete: DELETE leaves images with data in pending_delete for the scrubber. */
    readonly delayed_delete: boolean;
    /** Seconds a pending_delete image waits before the scrubber deletes its data. */
    readonly scrub_time: number;
    /** Images one scrubber run deletes in parallel. */
    readonly scrub_pool_size: number;
    /** Seconds between scrubber daemon runs. */
    readonly wakeup_time: number;
    /** Additional properties per image; negative = unlimited. Glance default 128. */
    readonly image_property_quota: number;
    /** Tags per image; negative = unlimited. Glance default 128. */
    readonly image_tag_quota: number;
    /** Locations per image; negative = unlimited. Glance default 10. */
    readonly image_location_quota: number;
    /** Keystone unified limits replace user_storage_quota ([oslo_limit], docs/quotas.md). */
    readonly use_keystone_limits: boolean;
    /** Base URL put in `self`/`file`/`next` links? Glance uses the request's host; Iris: public_endpoint if set. */
    readonly public_endpoint: string | null;
    /** This node's own URL for other nodes (stage host of node-local staging); null = public_endpoint. */
    readonly worker_self_reference_url: string | null;
    readonly debug: boolean;
    /** As given; null = none (see logging.ts for how it combines with log_dir). */
    readonly log_file: string | null;
    readonly log_dir: string | null;
    readonly use_stderr: boolean;
    /** strftime format for text lines. */
    readonly log_date_format: string;
    readonly use_syslog: boolean;
    /** As given (LOG_USER, local0…); checked. */
    readonly syslog_log_facility: string;
    /** As given (absolute, or looked for beside the config files); null = no property protections. */
    readonly property_protection_file: string | null;
    readonly property_protection_rule_format: 'roles' | 'policies';
    /**
     * Glance's multi-store switch as written (`local:file,fast:file`); '' = the legacy single
     * store. The parsed form is `backends`.
     */
    readonly enabled_backends: string;
    /** Import methods offered (Glance default: glance-direct, web-download, copy-image). */
    readonly enabled_import_methods: readonly string[];
    /** Single-store staging area for glance-direct (`file:///path`); Iris default file://<data_dir>/staging. */
    readonly node_staging_uri: string;
    /** Absolute path of the image cache; null = no cache (and no cache API). */
    readonly image_cache_dir: string | null;
    /** Bytes the cache is pruned back to (Glance default 10 GiB). */
    readonly image_cache_max_size: number;
    /** Seconds before an incomplete cache file counts as stalled. */
    readonly image_cache_stall_time: number;
    /** As given (lower case); Iris always behaves as centralized_db. */
    readonly image_cache_driver: 'centralized_db' | 'sqlite' | 'xattr';
    /** Seconds between prefetcher runs. */
    readonly cache_prefetcher_interval: number;
    /** oslo.messaging's transport (rabbit://…), the notifications' unless their own is set. */
    readonly transport_url: string;
    /** The notifications' exchange (Glance: glance). */
    readonly control_exchange: string;
    readonly disabled_notifications: readonly string[];
    readonly default_publisher_id: string;
  };
  readonly image_format: {
    readonly disk_formats: readonly string[];
    readonly container_formats: readonly string[];
    /** Refuse uploads whose data is not the declared disk_format (Glance 2025.1+; default true). */
    readonly require_image_format_match: boolean;
    /** Names of partition-table checks (`mbr`, `gptmbr`) that do not refuse a gpt image; default none. */
    readonly gpt_safety_checks_nonfatal: readonly string[];
  };
  readonly database: {
    /** SQLAlchemy-style URL as given (sqlite:///…, postgresql://…, mysql+pymysql://…). */
    readonly connection: string;
    /** Resolved: for sqlite, the absolute file path; '' for a database server. */
    readonly sqlite_path: string;
    readonly max_pool_size: number;
    readonly max_overflow: number;
    readonly pool_timeout: number;
    readonly connection_recycle_time: number;
    readonly max_retries: number;
    readonly retry_interval: number;
    readonly mysql_sql_mode: string;
  };
  readonly glance_store: {
    /**
     * Multi-store: id of the backend that takes uploads without a store choice. Required with
     * enabled_backends (Glance refuses to start without it; Iris: ConfigError); ignored without.
     */
    readonly default_backend: string;
    readonly default_store: 'file' | 'swift' | 's3' | 'http' | 'rbd';
    readonly stores: readonly ('file' | 'swift' | 's3' | 'http' | 'rbd')[];
    /** Absolute path of the filesystem store. */
    readonly filesystem_store_datadir: string;
  } & SwiftStoreOptions &
    OrNull<S3StoreOptions> &
    HttpStoreOptions;
  readonly paste_deploy: {
    readonly flavor: AuthFlavor;
  };
  /** keystonemiddleware's options (flavor keystone), plus Iris's in-process token cache. */
  readonly keystone_authtoken: {
    /** Put in 401 replies' WWW-Authenticate; null = auth_url. */
    readonly www_authenticate_uri: string | null;
    /** Keystone's URL (with or without /v3); null = unset (required by flavor keystone). */
    readonly auth_url: string | null;
    readonly auth_type: 'password';
    readonly username: string;
    readonly password: string;
    readonly project_name: string;
    readonly user_domain_name: string;
    readonly project_domain_name: string;
    /** Lower-cased. */
    readonly service_token_roles: readonly string[];
    readonly service_token_roles_required: boolean;
    /** Seconds; <= 0 disables the cache. */
    readonly token_cache_time: number;
    /** Entries. */
    readonly token_cache_size: number;
    /** Seconds: bound on one request's whole exchange with Keystone. */
    readonly http_connect_timeout: number;
  };
  /**
   * Derived (not an option): the stores images live in. Multi-store: one per enabled_backends
   * entry, from its own section ([<id>] store_description and its type's options), in the
   * order given. Single store: one backend per type of [glance_store] stores, its id the type's
   * name, `legacy` true, its options from [glance_store].
   */
  readonly backends: readonly BackendConfig[];
  /** Derived: whether enabled_backends is set (Glance's multi-store mode). */
  readonly multi_store: boolean;
  /** Derived: the backend id uploads go to by default. */
  readonly default_backend_id: string;
  /** Absolute path of the staging area (os_glance_staging_store, or node_staging_uri without multi-store). */
  readonly staging_dir: string;
  /** Glance's reserved store for import work files ([os_glance_tasks_store]). */
  readonly os_glance_tasks_store: { readonly filesystem_store_datadir: string };
  readonly os_glance_staging_store: { readonly filesystem_store_datadir: string };
  readonly task: {
    /** Hours a finished task is kept (Glance default 48). */
    readonly task_time_to_live: number;
  };
  /** web-download URI filtering, Glance's names; plus Iris's allow_private_networks. */
  readonly import_filtering_opts: {
    readonly allowed_schemes: readonly string[];
    readonly disallowed_schemes: readonly string[];
    readonly allowed_hosts: readonly string[];
    readonly disallowed_hosts: readonly string[];
    readonly allowed_ports: readonly number[];
    readonly disallowed_ports: readonly number[];
    /** Iris: allow web-download from loopback, private, link-local… addresses (default false). */
    readonly allow_private_networks: boolean;
    /** Iris: also allow loopback (127.0.0.0/8, ::1) — development and tests only (default false). */
    readonly allow_loopback: boolean;
  };
  /** Glance's import plugins, in the order they run ([image_import_opts]). */
  readonly image_import_opts: {
    readonly image_import_plugins: readonly string[];
  };
  /** The image_conversion plugin's target disk format. */
  readonly image_conversion: {
    readonly output_format: 'raw' | 'qcow2' | 'vmdk';
  };
  /** The inject_image_metadata plugin: what it sets, and whose imports it leaves alone. */
  readonly inject_metadata_properties: {
    readonly ignore_user_roles: readonly string[];
    readonly inject: Readonly<Record<string, string>>;
  };
  /** glance-download: prefixes of the remote image's properties copied to the imported image. */
  readonly glance_download_properties: {
    readonly extra_properties: readonly string[];
  };
  /** oslo.limit's options: where and as whom Keystone's unified limits are read ('' = unset). */
  readonly oslo_limit: {
    readonly endpoint_id: string;
    readonly auth_url: string | null;
    readonly auth_type: 'password';
    readonly username: string;
    readonly user_id: string;
    readonly password: string;
    readonly user_domain_id: string;
    readonly user_domain_name: string;
    readonly project_id: string;
    readonly project_name: string;
    readonly project_domain_id: string;
    readonly project_domain_name: string;
    readonly system_scope: string;
    /** Seconds. */
    readonly timeout: number;
  };
  /** oslo.policy's options (see docs/policy.md). */
  readonly oslo_policy: {
    /** As given: absolute, or a name looked for beside the config files (default policy.yaml). */
    readonly policy_file: string;
    readonly enforce_new_defaults: boolean;
    readonly enforce_scope: boolean;
  };
  /** oslo.middleware's healthcheck filter (disable_by_file backend). */
  readonly healthcheck: {
    readonly disable_by_file_path: string | null;
    /** Admins may see the detailed view (see src/http/healthcheck.ts). */
    readonly detailed: boolean;
    /** Checks every answer runs (see src/health/health-checks.ts). */
    readonly backends: readonly HealthBackend[];
  };
  /** oslo.messaging's notifier options (src/notify/, docs/notifications.md). */
  readonly oslo_messaging_notifications: {
    readonly driver: readonly ('messagingv2' | 'messaging' | 'log' | 'noop')[];
    /** null = [DEFAULT] transport_url. */
    readonly transport_url: string | null;
    readonly topics: readonly string[];
    /** -1 = as long as the message stays queued. */
    readonly retry: number;
  };
  /** oslo.middleware's http_proxy_to_wsgi filter (see src/http/forwarded.ts). */
  readonly oslo_middleware: {
    readonly enable_proxy_headers_parsing: boolean;
  };
  /** oslo.middleware's CORS filter, with Glance's defaults (see src/http/cors.ts). */
  readonly cors: {
    readonly allowed_origin: readonly string[];
    readonly allow_credentials: boolean;
    readonly expose_headers: readonly string[];
    readonly max_age: number;
    readonly allow_methods: readonly string[];
    readonly allow_headers: readonly string[];
  };
  /** Iris-only authentication settings. */
  readonly iris_auth: {
    /** Absolute path of the API key file (flavor apikey). */
    readonly api_key_file: string;
  };
  /** Iris-only: log line format; auto = text on a terminal, in a file and to syslog, json on a pipe. */
  readonly log_format: 'auto' | 'text' | 'json';
  /** Iris-only: address of the admin listener (/metrics); '' = none. */
  readonly admin_bind_host: string;
  /** Iris-only: its port; -1 = bind_port + 10000 (a free port when that is not a port), 0 = any free port. */
  readonly admin_bind_port: number;
  /** Iris-only: seconds in-flight requests get to finish on SIGTERM before their connections are closed. */
  readonly shutdown_timeout: number;
  /** Iris-only: absolute path of the local syslog socket (default /dev/log). */
  readonly syslog_socket: string;
  readonly syslog_format: 'rfc3164' | 'rfc5424';
  /** Iris-only: the directory holding the default database and stores (IRIS_DATA_DIR). */
  readonly data_dir: string;
  /** Iris-only: seconds after which a partial write left in a store is abandoned (removed at start). */
  readonly partial_write_max_age: number;
  /** Iris-only: seconds without a body byte before a request body is abandoned (408); 0 = off. */
  readonly body_idle_timeout: number;
  /** Iris-only: seconds limits read from Keystone are reused (0 = read on every check). */
  readonly keystone_limits_cache_time: number;
  /** Iris-only: seconds an upload's byte reservation lives without renewal. */
  readonly quota_reservation_time: number;
  /** Iris-only: notifications held while the broker is away; beyond it new ones are dropped. */
  readonly notification_queue_size: number;
  /** Iris-only: oslo `_context_*` keys (request, user, project ids) in each message. */
  readonly notification_request_context: boolean;
  /** Iris-only: seconds an import task stays owned by its node without renewing its lease. */
  readonly task_lease_seconds: number;
  /** Iris-only: seconds a scrubber's claim on image data lasts. */
  readonly scrub_claim_seconds: number;
  /** Iris-only: bytes the image cache always leaves free on its filesystem. */
  readonly image_cache_min_free_space: number;
  /** Files read, in order, for the start log. */
  readonly sources: readonly string[];
  /** Options present in files/env that Iris does not know (logged once at start). */
  readonly unknown_options: readonly string[];
  /** Deprecated spellings used (logged as warnings at start). */
  readonly deprecations: readonly string[];
}
