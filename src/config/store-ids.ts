/**
 * Store ids and types in [DEFAULT] enabled_backends: the id grammar (ids become section names
 * and IRIS__<ID>__… variable names), Glance's reserved prefix, and the store types Iris has.
 */
import { GLANCE_STORE_TYPES, IRIS_STORE_TYPES, type IrisStoreType } from './store-type-options.js';
import { unquoteItem } from './option-values.js';

/** Store ids starting with this are Glance's own (os_glance_staging_store, os_glance_tasks_store). */
export const RESERVED_STORE_PREFIX = 'os_glance_';

/**
 * Throws an Error (prefixed with `prefix`) unless `type` is a store type Iris has: a Glance type
 * Iris lacks is named as not available yet, so a configuration written for Glance does not
 * start without the store it asks for.
 */
export function checkStoreType(type: string, prefix = ''): IrisStoreType {
  if ((IRIS_STORE_TYPES as readonly string[]).includes(type)) return type as IrisStoreType;
  const have = IRIS_STORE_TYPES.join(', ');
  if (GLANCE_STORE_TYPES.includes(type)) {
    throw new Error(`${prefix}store type "${type}" is not available in Iris yet; Iris has ${have}`);
  }
  throw new Error(`${prefix}"${type}" is not a store type (Glance's are ${GLANCE_STORE_TYPES.join(', ')}; Iris has ${have})`);
}

/** One `id:type` entry of [DEFAULT] enabled_backends. */
export interface EnabledBackend {
  readonly id: string;
  readonly type: IrisStoreType;
}

/** Store ids become section names and IRIS__<ID>__… variable names. */
const STORE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Parses [DEFAULT] enabled_backends (oslo.config dict syntax, `id:type[,id:type…]`), in the
 * order given; '' is the empty list (single store). Throws an Error whose message is the reason:
 * an entry without a type, a type Iris lacks, an empty, malformed, duplicate or reserved id, or
 * one of `ownSections` (lower-case section names Iris reads itself; see ownSections()).
 */
export function parseEnabledBackends(raw: string, ownSections: ReadonlySet<string>): EnabledBackend[] {
  const backends: EnabledBackend[] = [];
  const byFolded = new Map<string, string>();
  for (const item of raw.split(',')) {
    const entry = item.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`${JSON.stringify(entry)} is not id:type (for example local:file)`);
    const id = unquoteItem(entry.slice(0, colon).trim());
    const type = unquoteItem(entry.slice(colon + 1).trim());
    if (id === '') throw new Error(`${JSON.stringify(entry)} has an empty store id`);
    if (id.toLowerCase().startsWith(RESERVED_STORE_PREFIX)) {
      throw new Error(`store id ${JSON.stringify(id)} is reserved: the prefix ${RESERVED_STORE_PREFIX} is for Glance's internal stores`);
    }
    if (!STORE_ID.test(id)) {
      throw new Error(
        `store id ${JSON.stringify(id)} is not valid: use letters, digits, "_", "-" and "." (starting with a letter or digit)`,
      );
    }
    if (ownSections.has(id.toLowerCase())) {
      throw new Error(`store id ${JSON.stringify(id)} is the name of one of Iris's own sections; choose another id`);
    }
    const previous = byFolded.get(id.toLowerCase());
    if (previous !== undefined) {
      throw new Error(
        previous === id
          ? `store id ${JSON.stringify(id)} is given twice`
          : `store ids ${JSON.stringify(previous)} and ${JSON.stringify(id)} differ only in case and would share the section [${id.toLowerCase()}]`,
      );
    }
    if (type === '') throw new Error(`store ${JSON.stringify(id)} has no type (write ${id}:file)`);
    const known = checkStoreType(type, `store ${JSON.stringify(id)}: `);
    byFolded.set(id.toLowerCase(), id);
    backends.push({ id, type: known });
  }
  return backends;
}
