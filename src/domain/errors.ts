/**
 * Domain errors. Only `http/faults.ts` maps them to HTTP statuses and Glance's fault body;
 * nothing below the HTTP layer knows about status codes.
 */
export type IrisErrorCode =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'Gone'
  | 'TooLarge'
  | 'UnsupportedMediaType'
  | 'RangeNotSatisfiable'
  | 'StorageFull'
  | 'ServiceUnavailable'
  | 'ClientTimeout';

/**
 * Which of Glance's request checks refused the request, named where the same refusal can come
 * out of Glance in more than one wire form: the HTTP layer keeps Glance's form for each
 * (src/http/glance-fault-style.ts). Most errors name none.
 */
export type GlanceCheck =
  /** RequestDeserializer.create: a reserved attribute or namespace in the body. */
  | 'create-reserved-attribute'
  /** ImagesController.update, _do_replace of /locations with []. */
  | 'patch-empty-locations'
  /** _do_remove_locations of an image's only location. */
  | 'patch-last-location'
  /** ImagesController.update, replace of /owner by a non-admin. */
  | 'patch-owner-by-non-admin'
  /** _do_replace / _do_remove of a property the image does not have. */
  | 'patch-missing-property'
  /** _do_add (v2.0 dialect) of a property the image already has. */
  | 'patch-existing-property'
  /** _do_remove of a core attribute. */
  | 'patch-core-attribute-removal'
  /** keystonemiddleware could not reach Keystone to validate the token. */
  | 'keystone-unavailable';

export interface IrisErrorOptions {
  readonly cause?: unknown;
  readonly check?: GlanceCheck;
}

export abstract class IrisError extends Error {
  abstract readonly code: IrisErrorCode;
  /** The Glance check that refused the request, when its wire form depends on it. */
  declare readonly check: GlanceCheck | undefined;
  constructor(message: string, options?: IrisErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    // Not enumerable: logs and serialised errors stay as they were.
    Object.defineProperty(this, 'check', { value: options?.check, enumerable: false });
  }
}

/** Invalid input: a schema violation, a bad filter value, a malformed body (400). */
export class Invalid extends IrisError {
  readonly code = 'BadRequest' as const;
}
/** The caller could not be authenticated (401). */
export class Unauthorized extends IrisError {
  readonly code = 'Unauthorized' as const;
  /** WWW-Authenticate value telling the client where to authenticate (Keystone's), if any. */
  readonly challenge: string | undefined;
  constructor(message: string, options?: { cause?: unknown; challenge?: string }) {
    super(message, options);
    this.challenge = options?.challenge;
  }
}
/** The caller may see the resource but not do this to it (403). */
export class Forbidden extends IrisError {
  readonly code = 'Forbidden' as const;
}
export class NotFound extends IrisError {
  readonly code = 'NotFound' as const;
}
/** The resource is in a state that does not allow the operation (409). */
export class Conflict extends IrisError {
  readonly code = 'Conflict' as const;
}
/**
 * The store refuses to delete the data because something outside Iris depends on it (RBD
 * clones of the image's snapshot: Nova disks, Cinder volumes). Glance's InUseByStore, a 409.
 */
export class InUseByStore extends Conflict {
  constructor(message = 'The image cannot be deleted because it is in use through the backend store outside of Glance.') {
    super(message);
  }
}
/** The image went away while its data was being received (410, as Glance's upload). */
export class Gone extends IrisError {
  readonly code = 'Gone' as const;
}
/** Image data larger than image_size_cap or the storage quota (413). */
export class TooLarge extends IrisError {
  readonly code = 'TooLarge' as const;
}
export class UnsupportedMediaType extends IrisError {
  readonly code = 'UnsupportedMediaType' as const;
}
export class RangeNotSatisfiable extends IrisError {
  readonly code = 'RangeNotSatisfiable' as const;
  /** Size of the whole image, for `Content-Range: bytes * /size`. */
  constructor(message: string, readonly size: number) {
    super(message);
  }
}
/** The backing store has no room left (413, as Glance's StorageFull). */
export class StorageFull extends IrisError {
  readonly code = 'StorageFull' as const;
}
export class ServiceUnavailable extends IrisError {
  readonly code = 'ServiceUnavailable' as const;
}
/** The client stopped sending what it had started to send (a request body that stalled; 408). */
export class ClientTimeout extends IrisError {
  readonly code = 'ClientTimeout' as const;
}
