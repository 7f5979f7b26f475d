/**
 * The body of POST /v2/images/{id}/import and its x-image-meta-store header, checked as
 * Glance's deserializer checks them (glance/api/v2/images.py RequestDeserializer.import_image)
 * before anything is looked up, into the import service's typed request.
 */
import { Invalid } from '../domain/errors.js';
import type { ImportMethod } from '../domain/import-method.js';
import { pyStr } from '../domain/py-format.js';
import type { ImportCall } from '../services/import/import-request.js';

/**
 * @param methods the enabled import methods (enabled_import_methods).
 * @param headerStore the x-image-meta-store header, when sent.
 * @throws Invalid with Glance's messages.
 */
export function parseImportBody(body: unknown, methods: readonly string[], headerStore?: string): ImportCall {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('method' in body)) {
    throw new Invalid("Import request requires a 'method' field.");
  }
  const raw = body as Record<string, unknown>;
  const method = raw.method;
  if (typeof method !== 'object' || method === null || !('name' in method)) {
    throw new Invalid("Import request requires a 'name' field.");
  }
  const name = (method as Record<string, unknown>).name;
  if (typeof name !== 'string' || !methods.includes(name)) {
    throw new Invalid(`Unknown import method name '${pyStr(name)}'.`);
  }
  if ('all_stores_must_succeed' in raw && typeof raw.all_stores_must_succeed !== 'boolean') {
    throw new Invalid("'all_stores_must_succeed' must be boolean value only");
  }
  if ('all_stores' in raw && typeof raw.all_stores !== 'boolean') {
    throw new Invalid("'all_stores' must be boolean value only");
  }
  return {
    // The enabled methods are a subset of IMPORT_METHODS (config checks them).
    method: name as ImportMethod,
    uri: (method as Record<string, unknown>).uri,
    allStores: raw.all_stores === true,
    allStoresMustSucceed: raw.all_stores_must_succeed !== false,
    stores: 'stores' in raw ? { value: raw.stores } : undefined,
    headerStore,
    body: raw,
  };
}
