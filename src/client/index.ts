/**
 * The Iris SDK: a typed client for the OpenStack Images API v2 (Iris, or any Glance).
 *
 * @example
 *   import { createIrisClient, IrisApiError } from './client/index.js';
 *   const client = createIrisClient({ endpoint: 'http://127.0.0.1:9292' });
 *   try {
 *     await client.images.get('nope');
 *   } catch (err) {
 *     if (err instanceof IrisApiError && err.status === 404) console.error(err.message, err.requestId);
 *   }
 */
export { createIrisClient } from './iris-client.js';
export type { IrisClient, SchemaName } from './iris-client.js';
export type { IrisAuth, IrisClientOptions, KeystonePasswordAuth, NoAuth, TokenAuth } from './client-options.js';
export { IrisApiError, IrisClientError, IrisConnectionError, IrisIntegrityError } from './errors.js';
export type { IrisClientErrorCode } from './errors.js';
export type { ImageData, ImagesApi } from './images-api.js';
export { JSON_PATCH_MEDIA_TYPE } from './images-api.js';
export type { MemberStatus, MembersApi } from './members-api.js';
export type { TasksApi } from './tasks-api.js';
export type { InfoApi } from './info-api.js';
export { importRequestBody } from './import-request.js';
export type * from './import-types.js';
export { buildImagePatch } from './image-patch-builder.js';
export { normalizeEndpoint } from './auth-provider.js';
export type * from './image-types.js';
