/** The shapes the Images API v2 sends and accepts, as the SDK types them. */

export type ImageStatus =
  | 'queued'
  | 'saving'
  | 'active'
  | 'killed'
  | 'deleted'
  | 'pending_delete'
  | 'deactivated'
  | 'uploading'
  | 'importing';

export type ImageVisibility = 'public' | 'private' | 'shared' | 'community';

/**
 * An image record. Custom properties (`os_distro`, `hw_disk_bus`, …) sit beside the core
 * attributes, as in Glance's JSON, hence the index signature.
 */
export interface Image {
  readonly id: string;
  readonly name: string | null;
  readonly status: ImageStatus;
  readonly visibility: ImageVisibility;
  readonly protected: boolean;
  readonly os_hidden: boolean;
  readonly owner: string | null;
  readonly size: number | null;
  readonly virtual_size: number | null;
  readonly checksum: string | null;
  readonly os_hash_algo: string | null;
  readonly os_hash_value: string | null;
  readonly disk_format: string | null;
  readonly container_format: string | null;
  readonly min_disk: number;
  readonly min_ram: number;
  readonly tags: readonly string[];
  readonly created_at: string;
  readonly updated_at: string;
  readonly self: string;
  readonly file: string;
  readonly schema: string;
  readonly [property: string]: unknown;
}

/** Body of `POST /v2/images`: core attributes and any custom properties (string values). */
export interface CreateImageInput {
  readonly id?: string;
  readonly name?: string | null;
  readonly disk_format?: string;
  readonly container_format?: string;
  readonly visibility?: ImageVisibility;
  readonly protected?: boolean;
  readonly os_hidden?: boolean;
  readonly min_disk?: number;
  readonly min_ram?: number;
  readonly owner?: string;
  readonly tags?: readonly string[];
  readonly [property: string]: unknown;
}

/**
 * What `images.update` sets: new values for core attributes or custom properties (each is
 * added when the image lacks it, replaced when present; `undefined` values are skipped).
 */
export type ImageChanges = Readonly<Record<string, unknown>>;

export interface UpdateImageOptions {
  /** Custom properties to delete (glanceclient's `--remove-property`). */
  readonly remove?: readonly string[];
  /** The image as last read, to build the patch without fetching it again. */
  readonly current?: Image;
  readonly signal?: AbortSignal;
}

/** One operation of an `application/openstack-images-v2.1-json-patch` body (RFC 6902 shape). */
export type JsonPatchOp =
  | { readonly op: 'add' | 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/** Filters `GET /v2/images` understands; every one is optional. */
export interface ImageFilters {
  readonly name?: string;
  readonly visibility?: ImageVisibility | 'all';
  readonly member_status?: 'pending' | 'accepted' | 'rejected' | 'all';
  readonly owner?: string;
  readonly status?: ImageStatus;
  readonly checksum?: string;
  readonly os_hash_value?: string;
  readonly os_hidden?: boolean;
  readonly disk_format?: string;
  readonly container_format?: string;
  readonly protected?: boolean;
  readonly size_min?: number;
  readonly size_max?: number;
  /** Images carrying every one of these tags. */
  readonly tags?: readonly string[];
  /** Operator-prefixed, e.g. `gte:2024-01-01T00:00:00Z`. */
  readonly created_at?: string;
  readonly updated_at?: string;
  /** Custom property equality filters (`--property-filter k=v`). */
  readonly properties?: Readonly<Record<string, string>>;
}

/**
 * Sort order: either `sort` (`name:asc,size:desc`, Glance's new syntax) or `sortKey` with
 * optional `sortDir` (repeated `sort_key`/`sort_dir` parameters); not both.
 */
export interface ImageSort {
  readonly sort?: string;
  readonly sortKey?: readonly string[];
  readonly sortDir?: readonly ('asc' | 'desc')[];
}

/** One page of `GET /v2/images`. */
export interface ListImagesPageOptions extends ImageFilters, ImageSort {
  /** Page size (Glance caps it at `api_limit_max`). */
  readonly limit?: number;
  /** Id of the last image of the previous page. */
  readonly marker?: string;
  readonly signal?: AbortSignal;
}

/** Every page, followed through `next` links. */
export interface ListAllImagesOptions extends ImageFilters, ImageSort {
  /** Images per request; server default when unset. */
  readonly pageSize?: number;
  /** Stop after this many images in total. */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export interface ImagePage {
  readonly images: readonly Image[];
  /** Path of the next page (relative to the endpoint), absent on the last page. */
  readonly next?: string;
  readonly first?: string;
}

/** Progress of an upload or download: bytes so far and the total when known. */
export type ProgressListener = (bytes: number, total: number | undefined) => void;

export interface UploadOptions {
  /** Sent as Content-Length; without it the body goes chunked. */
  readonly size?: number;
  readonly onProgress?: ProgressListener;
  /** Store of a multi-store cloud to upload to (`X-Image-Meta-Store`); the default store when unset. */
  readonly store?: string;
  readonly signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Check md5 and the multihash while streaming (default true). */
  readonly verify?: boolean;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

/** A started download. `stream` fails at its end with IrisIntegrityError on a mismatch. */
export interface ImageDownload {
  readonly stream: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  /** Bytes the server announced (Content-Length) or the record's size. */
  readonly size: number | undefined;
  readonly image: Image;
  /** The checks the stream applies (empty when verification is off or nothing is known). */
  readonly verifies: readonly string[];
}

export interface DownloadToFileResult {
  readonly path: string;
  readonly bytes: number;
  readonly verified: readonly string[];
}

export interface ImageMember {
  readonly image_id: string;
  readonly member_id: string;
  readonly status: 'pending' | 'accepted' | 'rejected';
  readonly created_at: string;
  readonly updated_at: string;
  readonly schema: string;
}

export interface ApiVersion {
  readonly id: string;
  readonly status: string;
  readonly links: readonly { readonly rel: string; readonly href: string }[];
}

/** A JSON schema document from `/v2/schemas/{name}`. */
export type JsonSchema = Readonly<Record<string, unknown>>;
