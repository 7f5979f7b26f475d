/**
 * Request ids: Iris's own (`req-<uuid>`, a fresh one per request, sent back as
 * X-Openstack-Request-Id) and the caller's global request id, taken from the
 * X-OpenStack-Request-ID request header only when it has the form oslo.middleware's request_id
 * filter accepts (`req-` and a lower-case UUID); anything else is ignored, as there.
 */

/** oslo.middleware request_id's ID_FORMAT. */
const GLOBAL_ID = /^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

/**
 * The caller's global request id, or null when absent or malformed.
 *
 * @example globalRequestId({ 'x-openstack-request-id': 'req-0b7c…' }) // 'req-0b7c…'
 */
export function globalRequestId(headers: Readonly<Record<string, string | string[] | undefined>>): string | null {
  const raw = headers['x-openstack-request-id'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value !== undefined && GLOBAL_ID.test(value) ? value : null;
}
