/**
 * The metadefs catalog to and from definition files, as glance-manage's load_metadefs,
 * unload_metadefs and export_metadefs do it (glance/db/sqlalchemy/metadata.py): straight
 * into the tables, owner `admin` unless the file names one, resource types seeded as
 * protected. `merge` adds what is missing to namespaces that exist, `preferNew` (with merge)
 * also rewrites what exists, `overwrite` (with merge) replaces such namespaces whole.
 * One file that cannot be read or parsed is reported and skipped, like Glance. Rows it inserts
 * have no `updated_at` (Glance's loader writes the tables directly, without the models'
 * defaults), so the API shows none for them until they change.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely, Transaction } from 'kysely';
import type { Schema } from './schema.js';
import { inTransaction, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';

/** Where Debian's glance-common installs Glance's 33 stock definition files (Apache-2.0 data). */
export const STOCK_METADEFS_PATH = '/usr/share/glance-common/metadefs';

export interface LoadOptions {
  readonly path: string;
  readonly merge?: boolean;
  readonly preferNew?: boolean;
  readonly overwrite?: boolean;
  /** Told about each skipped file or namespace (Glance logs these). */
  readonly warn?: (message: string) => void;
  readonly now?: () => Date;
}

export interface LoadReport {
  readonly loaded: readonly string[];
  readonly skipped: readonly string[];
}

type Json = Record<string, unknown>;

/** The option combinations Glance refuses; null when fine. */
export function loadOptionsProblem(opts: Pick<LoadOptions, 'merge' | 'preferNew' | 'overwrite'>): string | null {
  if (!opts.merge && (opts.preferNew || opts.overwrite)) {
    return 'To use --prefer_new or --overwrite you need to combine of these options with --merge option.';
  }
  if (opts.preferNew && opts.overwrite) return 'Please provide no more than one option from this list: --prefer_new, --overwrite';
  return null;
}

/** The definition files at `path` (a file, or the *.json files of a directory, sorted). */
export function definitionFiles(path: string): string[] {
  if (!existsSync(path)) throw new Error(`metadefs path ${path} does not exist`);
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith('.json') && statSync(join(path, f)).isFile())
    .sort()
    .map((f) => join(path, f));
}

/**
 * Loads the definition files at `opts.path`. @throws Error for bad options, a missing path,
 * or a database error (nothing of the failing file is kept).
 */
export async function loadMetadefs(db: Kysely<Schema>, engine: SqlEngine, opts: LoadOptions): Promise<LoadReport> {
  const problem = loadOptionsProblem(opts);
  if (problem !== null) throw new Error(problem);
  const files = definitionFiles(opts.path);
  if (files.length === 0) throw new Error(`Json schema files not found in ${opts.path}. Aborting.`);
  const warn = opts.warn ?? (() => undefined);
  const now = () => (opts.now ?? (() => new Date()))().getTime();
  const loaded: string[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    let metadata: Json;
    try {
      metadata = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (err) {
      warn(`Failed to parse json file ${file} while populating metadata due to: ${(err as Error).message}`);
      skipped.push(file);
      continue;
    }
    const name = String(metadata.namespace);
    const done = await inTransaction(db, engine, (trx) => loadNamespace(trx, metadata, opts, now));
    if (done) loaded.push(name);
    else {
      warn(`Skipping namespace ${name}. It already exists in the database.`);
      skipped.push(name);
    }
  }
  return { loaded, skipped };
}

async function idOf(q: Transaction<Schema>, table: 'metadef_objects' | 'metadef_properties' | 'metadef_tags', nsId: number, name: string) {
  const row = await q.selectFrom(table).select('id').where('namespace_id', '=', nsId).where('name', '=', name).executeTakeFirst();
  return row === undefined ? undefined : Number(row.id);
}

/** One file's namespace; false when it exists and is left alone (no merge). */
async function loadNamespace(trx: Transaction<Schema>, metadata: Json, opts: LoadOptions, now: () => number): Promise<boolean> {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const values = {
    namespace: String(metadata.namespace),
    display_name: text(metadata.display_name),
    description: text(metadata.description),
    visibility: text(metadata.visibility),
    protected: metadata.protected === true ? 1 : 0,
    owner: typeof metadata.owner === 'string' ? metadata.owner : 'admin',
  };
  const existing = await trx.selectFrom('metadef_namespaces').select('id').where('namespace', '=', values.namespace).executeTakeFirst();
  let nsId = existing === undefined ? undefined : Number(existing.id);
  if (nsId !== undefined && opts.overwrite) {
    await trx.deleteFrom('metadef_namespaces').where('id', '=', nsId).execute(); // children cascade
    nsId = undefined;
  }
  if (nsId === undefined) {
    const t = now();
    await trx.insertInto('metadef_namespaces').values({ ...values, created_at: t, updated_at: null }).execute();
    nsId = Number((await trx.selectFrom('metadef_namespaces').select('id').where('namespace', '=', values.namespace).executeTakeFirstOrThrow()).id);
  } else if (!opts.merge) {
    return false;
  } else if (opts.preferNew) {
    await trx.updateTable('metadef_namespaces').set({ ...values, updated_at: now() }).where('id', '=', nsId).execute();
  }
  const preferNew = opts.preferNew === true;

  for (const rt of (metadata.resource_type_associations as Json[] | undefined) ?? []) {
    const rtName = String(rt.name);
    let type = await trx.selectFrom('metadef_resource_types').select('id').where('name', '=', rtName).executeTakeFirst();
    if (type === undefined) {
      const t = now();
      await trx.insertInto('metadef_resource_types').values({ name: rtName, protected: 1, created_at: t, updated_at: null }).execute();
      type = await trx.selectFrom('metadef_resource_types').select('id').where('name', '=', rtName).executeTakeFirstOrThrow();
    } else if (preferNew) {
      await trx.updateTable('metadef_resource_types').set({ updated_at: now() }).where('id', '=', type.id).execute();
    }
    const typeId = Number(type.id);
    const association = { prefix: text(rt.prefix), properties_target: text(rt.properties_target) };
    const found = await trx
      .selectFrom('metadef_namespace_resource_types')
      .select('namespace_id')
      .where('namespace_id', '=', nsId)
      .where('resource_type_id', '=', typeId)
      .executeTakeFirst();
    if (found === undefined) {
      const t = now();
      await trx
        .insertInto('metadef_namespace_resource_types')
        .values({ namespace_id: nsId, resource_type_id: typeId, ...association, created_at: t, updated_at: null })
        .execute();
    } else if (preferNew) {
      await trx
        .updateTable('metadef_namespace_resource_types')
        .set({ ...association, updated_at: now() })
        .where('namespace_id', '=', nsId)
        .where('resource_type_id', '=', typeId)
        .execute();
    }
  }

  for (const [name, schema] of Object.entries((metadata.properties as Json | undefined) ?? {})) {
    const id = await idOf(trx, 'metadef_properties', nsId, name);
    const json_schema = JSON.stringify(schema);
    if (id === undefined) {
      const t = now();
      await trx.insertInto('metadef_properties').values({ namespace_id: nsId, name, json_schema, created_at: t, updated_at: null }).execute();
    } else if (preferNew) {
      await trx.updateTable('metadef_properties').set({ json_schema, updated_at: now() }).where('id', '=', id).execute();
    }
  }

  // Glance loads an object's name, description and properties; its `required` list is not loaded.
  for (const object of (metadata.objects as Json[] | undefined) ?? []) {
    const name = String(object.name);
    const row = { description: text(object.description), json_schema: JSON.stringify(object.properties ?? null) };
    const id = await idOf(trx, 'metadef_objects', nsId, name);
    if (id === undefined) {
      const t = now();
      await trx.insertInto('metadef_objects').values({ namespace_id: nsId, name, ...row, created_at: t, updated_at: null }).execute();
    } else if (preferNew) {
      await trx.updateTable('metadef_objects').set({ ...row, updated_at: now() }).where('id', '=', id).execute();
    }
  }

  for (const tag of (metadata.tags as Json[] | undefined) ?? []) {
    const name = String(tag.name);
    const id = await idOf(trx, 'metadef_tags', nsId, name);
    if (id === undefined) {
      const t = now();
      try {
        await trx.insertInto('metadef_tags').values({ namespace_id: nsId, name, created_at: t, updated_at: null }).execute();
      } catch (err) {
        // Glance logs a duplicate and goes on.
        if (!(err instanceof UniqueViolation)) throw err;
      }
    } else if (preferNew) {
      await trx.updateTable('metadef_tags').set({ updated_at: now() }).where('id', '=', id).execute();
    }
  }
  return true;
}

/** Deletes the whole catalog, resource types included (glance-manage db unload_metadefs). */
export async function unloadMetadefs(db: Kysely<Schema>, engine: SqlEngine): Promise<void> {
  await inTransaction(db, engine, async (trx) => {
    for (const table of ['metadef_properties', 'metadef_objects', 'metadef_tags', 'metadef_namespace_resource_types', 'metadef_namespaces', 'metadef_resource_types'] as const) {
      await trx.deleteFrom(table).execute();
    }
  });
}

/**
 * Writes one file per namespace into the directory `path`, named after its display name
 * without non-word characters (Glance's naming), in the load format. Returns the files written.
 */
export async function exportMetadefs(db: Kysely<Schema>, path: string): Promise<string[]> {
  const written: string[] = [];
  const namespaces = await db.selectFrom('metadef_namespaces').selectAll().orderBy('id').execute();
  for (const ns of namespaces) {
    const id = Number(ns.id);
    const associations = await db
      .selectFrom('metadef_namespace_resource_types as a')
      .innerJoin('metadef_resource_types as t', 't.id', 'a.resource_type_id')
      .select(['t.name', 'a.prefix', 'a.properties_target'])
      .where('a.namespace_id', '=', id)
      .orderBy('t.id')
      .execute();
    const objects = await db.selectFrom('metadef_objects').select(['name', 'description', 'json_schema']).where('namespace_id', '=', id).orderBy('id').execute();
    const properties = await db.selectFrom('metadef_properties').select(['name', 'json_schema']).where('namespace_id', '=', id).orderBy('id').execute();
    const tags = await db.selectFrom('metadef_tags').select('name').where('namespace_id', '=', id).orderBy('id').execute();
    const values = {
      namespace: ns.namespace,
      display_name: ns.display_name,
      description: ns.description,
      visibility: ns.visibility,
      protected: Number(ns.protected) === 1,
      resource_type_associations: associations.map((a) => ({ name: a.name, prefix: a.prefix, properties_target: a.properties_target })),
      properties: Object.fromEntries(properties.map((p) => [p.name, JSON.parse(p.json_schema) as unknown])),
      objects: objects.map((o) => ({ name: o.name, description: o.description, properties: JSON.parse(o.json_schema) as unknown })),
      tags: tags.map((t) => ({ name: t.name })),
    };
    // Python's re.sub(r'[\W_]+', '', display_name) (Unicode word characters kept).
    const base = (ns.display_name ?? ns.namespace).replace(/[^\p{L}\p{N}]+/gu, '');
    const file = join(path, `${base}.json`);
    writeFileSync(file, `${JSON.stringify(values, null, 2)}\n`);
    written.push(file);
  }
  return written;
}
