/** The shapes of interoperable image import, tasks and store discovery, as the SDK types them. */

/** Import methods Glance knows; a cloud enables some of them (`GET /v2/info/import`). */
export type ImportMethodName = 'glance-direct' | 'web-download' | 'copy-image' | 'glance-download' | (string & {});

/** `POST /v2/images/{id}/import`: how and where to import. */
export interface ImportOptions {
  /** `glance-direct` (data staged first), `web-download` (`uri`), `copy-image` (`stores`). */
  readonly method: ImportMethodName;
  /** The URL `web-download` fetches. */
  readonly uri?: string;
  /** `glance-download`: the remote Glance's region, image id and catalog interface. */
  readonly glanceRegion?: string;
  readonly glanceImageId?: string;
  readonly glanceServiceInterface?: string;
  /** One store, sent as the `X-Image-Meta-Store` header (glanceclient's `--store`). */
  readonly store?: string;
  /** Several stores, in the body (`--stores a,b`). */
  readonly stores?: readonly string[];
  /** Every store the cloud has (`--all-stores true`). */
  readonly allStores?: boolean;
  /**
   * With `stores`/`allStores`: false lets the import succeed when some stores fail (glanceclient's
   * default, `--allow-failure true`); true (Glance's default when absent) reverts on any failure.
   * Sent only when given.
   */
  readonly allStoresMustSucceed?: boolean;
  readonly signal?: AbortSignal;
}

export type TaskStatus = 'pending' | 'processing' | 'success' | 'failure';

/**
 * A task: the record of an asynchronous import. `GET /v2/images/{id}/tasks` adds `deleted`
 * and `deleted_at`, hence the index signature.
 */
export interface Task {
  readonly id: string;
  /** `api_image_import` for imports through `/import`; `import` for the old tasks API. */
  readonly type: string;
  readonly status: TaskStatus;
  readonly input: Readonly<Record<string, unknown>> | null;
  readonly result: Readonly<Record<string, unknown>> | null;
  readonly owner: string;
  readonly message: string;
  readonly image_id?: string;
  readonly request_id?: string;
  readonly user_id?: string;
  readonly expires_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly self?: string;
  readonly schema?: string;
  readonly [field: string]: unknown;
}

/** Filters and order of `GET /v2/tasks`. */
export interface TaskFilters {
  readonly type?: string;
  readonly status?: TaskStatus | (string & {});
  /** `id`, `type`, `status`, `created_at` or `updated_at` (Glance's default `created_at`). */
  readonly sortKey?: string;
  readonly sortDir?: 'asc' | 'desc';
}

export interface ListTasksPageOptions extends TaskFilters {
  readonly limit?: number;
  /** Id of the last task of the previous page. */
  readonly marker?: string;
  readonly signal?: AbortSignal;
}

export interface ListAllTasksOptions extends TaskFilters {
  /** Tasks per request; glanceclient asks for 20. Server default when unset. */
  readonly pageSize?: number;
  /** Stop after this many tasks in total. */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export interface TaskPage {
  readonly tasks: readonly Task[];
  /** Path of the next page (relative to the endpoint), absent on the last page. */
  readonly next?: string;
  readonly first?: string;
}

/** `GET /v2/info/import`. */
export interface ImportInfo {
  readonly 'import-methods': {
    readonly description?: string;
    readonly type?: string;
    /** The import methods this cloud enables. */
    readonly value: readonly string[];
  };
  readonly [key: string]: unknown;
}

/** One entry of `GET /v2/info/stores` (and, with `type`/`properties`, of `/detail`). */
export interface StoreInfo {
  readonly id: string;
  readonly description?: string;
  /** Glance sends the string `"true"` on the default store, and nothing on the others. */
  readonly default?: string | boolean;
  readonly 'read-only'?: string | boolean;
  /** Detail only (admin): the driver type, e.g. `file`. */
  readonly type?: string;
  /** Detail only (admin): driver settings. */
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** `GET /v2/info/stores` and `/v2/info/stores/detail`. */
export interface StoresInfo {
  readonly stores: readonly StoreInfo[];
  readonly [key: string]: unknown;
}
