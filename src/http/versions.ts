/**
 * The version document Glance 25.1.0 serves for Iris's configuration (one store, no import,
 * no cache): v2.15 CURRENT, then the older versions it still lists.
 */
const VERSIONS: readonly [string, 'CURRENT' | 'SUPPORTED'][] = [
  ['v2.15', 'CURRENT'],
  ['v2.9', 'SUPPORTED'],
  ['v2.7', 'SUPPORTED'],
  ['v2.6', 'SUPPORTED'],
  ['v2.5', 'SUPPORTED'],
  ['v2.4', 'SUPPORTED'],
  ['v2.3', 'SUPPORTED'],
  ['v2.2', 'SUPPORTED'],
  ['v2.1', 'SUPPORTED'],
  ['v2.0', 'SUPPORTED'],
];

export function versionsDocument(baseUrl: string): Record<string, unknown> {
  return {
    versions: VERSIONS.map(([id, status]) => ({ id, status, links: [{ rel: 'self', href: `${baseUrl}/v2/` }] })),
  };
}
