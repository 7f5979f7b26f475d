/**
 * The version document Glance 25.1.0 serves (glance/api/versions.py), for Iris's configuration:
 * v2.15 CURRENT (Glance lists v2.16 CURRENT and v2.15, v2.14 only with image_cache_dir; Iris
 * has no cache API), then v2.13 back to v2.8 with multi-store (enabled_backends) or only v2.9
 * without, then v2.7 … v2.0.
 */
type Version = readonly [string, 'CURRENT' | 'SUPPORTED'];

const CURRENT: readonly Version[] = [['v2.15', 'CURRENT']];
const MULTI_STORE: readonly Version[] = ['v2.13', 'v2.12', 'v2.11', 'v2.10', 'v2.9', 'v2.8'].map((id) => [id, 'SUPPORTED'] as const);
const SINGLE_STORE: readonly Version[] = [['v2.9', 'SUPPORTED']];
const OLDER: readonly Version[] = ['v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0'].map((id) => [id, 'SUPPORTED'] as const);

/**
 * @example
 *   versionsDocument('http://127.0.0.1:9292', { multiStore: true }).versions[1].id; // 'v2.13'
 */
export function versionsDocument(baseUrl: string, opts: { readonly multiStore: boolean }): Record<string, unknown> {
  const versions = [...CURRENT, ...(opts.multiStore ? MULTI_STORE : SINGLE_STORE), ...OLDER];
  return {
    versions: versions.map(([id, status]) => ({ id, status, links: [{ rel: 'self', href: `${baseUrl}/v2/` }] })),
  };
}
