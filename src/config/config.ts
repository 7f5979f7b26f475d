/**
 * The typed, frozen configuration. Option names are Glance's (glance-api.conf) so an
 * operator's existing file mostly carries over. Loaded by `load-config.ts`. The option fields
 * are computed from the option table (config-options.ts and its sections under options/), so
 * the type cannot drift from what the loader reads; the fields below are the ones the loader
 * derives besides.
 */
import type { ConfigOptionValues } from './config-options.js';
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

interface BackendCommon {
  readonly id: string;
  /** Shown by GET /v2/info/stores; null = none given. */
  readonly store_description: string | null;
  /** True for the stores of a configuration without enabled_backends (no `stores` field, no store metadata). */
  readonly legacy: boolean;
}

export type AuthFlavor = Config['paste_deploy']['flavor'];

export type Config = ConfigOptionValues & DerivedFields;

/** What the loader computes from the options (not options themselves). */
interface DerivedFields {
  readonly database: {
    /** Resolved: for sqlite, the absolute file path; '' for a database server. */
    readonly sqlite_path: string;
  };
  /**
   * The stores images live in. Multi-store: one per enabled_backends entry, from its own
   * section ([<id>] store_description and its type's options), in the order given. Single
   * store: one backend per type of [glance_store] stores, its id the type's name, `legacy`
   * true, its options from [glance_store].
   */
  readonly backends: readonly BackendConfig[];
  /** Whether enabled_backends is set (Glance's multi-store mode). */
  readonly multi_store: boolean;
  /** The backend id uploads go to by default. */
  readonly default_backend_id: string;
  /** Absolute path of the staging area (os_glance_staging_store, or node_staging_uri without multi-store). */
  readonly staging_dir: string;
  /** Files read, in order, for the start log. */
  readonly sources: readonly string[];
  /** Options present in files/env that Iris does not know (logged once at start). */
  readonly unknown_options: readonly string[];
  /** Deprecated spellings used (logged as warnings at start). */
  readonly deprecations: readonly string[];
}
