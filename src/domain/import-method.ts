/**
 * Glance's interoperable import methods, in Glance's order. The one list that both the import
 * request check and the `enabled_import_methods` option are meant to read.
 */
export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download'] as const;
export type ImportMethod = (typeof IMPORT_METHODS)[number];

export function isImportMethod(name: unknown): name is ImportMethod {
  return typeof name === 'string' && (IMPORT_METHODS as readonly string[]).includes(name);
}
