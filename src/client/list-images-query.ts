/** Query parameters of `GET /v2/images` from the SDK's typed filters, sort and paging options. */
import type { ImageFilters, ImageSort } from './image-types.js';

const SIMPLE_FILTERS = [
  'name',
  'visibility',
  'member_status',
  'owner',
  'status',
  'checksum',
  'os_hash_value',
  'disk_format',
  'container_format',
  'size_min',
  'size_max',
  'created_at',
  'updated_at',
] as const;

/**
 * The query for one page. Tags repeat `tag=` (images must carry all of them), booleans are
 * spelled as Glance parses them, custom properties are plain `key=value` pairs.
 *
 * @example
 *   listImagesQuery({ visibility: 'public', tags: ['a', 'b'], sort: 'name:asc' }, { limit: 10 }).toString()
 *   // 'visibility=public&tag=a&tag=b&sort=name%3Aasc&limit=10'
 */
export function listImagesQuery(
  options: ImageFilters & ImageSort,
  paging: { readonly limit?: number; readonly marker?: string } = {},
): URLSearchParams {
  const q = new URLSearchParams();
  for (const key of SIMPLE_FILTERS) {
    const value = options[key];
    if (value !== undefined) q.append(key, String(value));
  }
  for (const tag of options.tags ?? []) q.append('tag', tag);
  if (options.os_hidden !== undefined) q.append('os_hidden', String(options.os_hidden));
  if (options.protected !== undefined) q.append('protected', String(options.protected));
  for (const [key, value] of Object.entries(options.properties ?? {})) q.append(key, value);
  if (options.sort !== undefined) {
    if (options.sortKey !== undefined || options.sortDir !== undefined) {
      // Glance refuses the mix with a 400; say so before sending.
      throw new TypeError('sort cannot be combined with sortKey/sortDir');
    }
    q.append('sort', options.sort);
  }
  for (const key of options.sortKey ?? []) q.append('sort_key', key);
  for (const dir of options.sortDir ?? []) q.append('sort_dir', dir);
  if (paging.limit !== undefined) q.append('limit', String(paging.limit));
  if (paging.marker !== undefined) q.append('marker', paging.marker);
  return q;
}
