/**
 * `MetadefRepository` over the metadef_* tables (migrations/004-metadefs.ts), on any engine of
 * the dialect seam. Writes that must be all-or-nothing (a namespace with its contents, a bulk
 * tag replace) run in one transaction; unique keys turn into Conflict with Glance's messages.
 * Rows are read back by their unique key after an insert, which every engine can do (MySQL
 * has no INSERT … RETURNING).
 */
import type { Kysely, Selectable } from 'kysely';
import { Conflict } from '../domain/errors.js';
import type {
  AssociationFields,
  JsonMap,
  MetadefNamespace,
  MetadefObject,
  MetadefProperty,
  MetadefTag,
  NamespaceFields,
  ObjectFields,
  ResourceTypeAssociation,
} from '../domain/metadef.js';
import type { MetadefRepository, NamespaceContents } from '../domain/metadef-ports.js';
import type { MetadefNamespacesTable, MetadefObjectsTable, MetadefPropertiesTable, MetadefTagsTable, Schema } from './schema.js';
import { inTransaction, UniqueViolation } from './sql-engine.js';
import type { SqlEngine } from './sql-engine.js';
import { sqliteEngine } from './sqlite-dialect.js';

// A transaction is a Kysely too: every helper runs inside or outside one.
type Db = Kysely<Schema>;

const time = (v: number | string | bigint): Date => new Date(Number(v));
const maybeTime = (v: number | string | bigint | null): Date | null => (v === null ? null : time(v));
const ms = (d: Date): number => d.getTime();

function toNamespace(row: Selectable<MetadefNamespacesTable>): MetadefNamespace {
  return {
    id: Number(row.id),
    namespace: row.namespace,
    display_name: row.display_name,
    description: row.description,
    visibility: row.visibility,
    protected: Number(row.protected) === 1,
    owner: row.owner,
    created_at: time(row.created_at),
    updated_at: maybeTime(row.updated_at),
  };
}

function toObject(row: Selectable<MetadefObjectsTable>): MetadefObject {
  return {
    id: Number(row.id),
    name: row.name,
    description: row.description,
    // Glance's format: comma-joined names, NULL for none (read back as []).
    required: row.required ? row.required.split(',') : [],
    // load_metadefs stores an object without properties as JSON null.
    properties: (JSON.parse(row.json_schema) as Record<string, JsonMap> | null) ?? {},
    created_at: time(row.created_at),
    updated_at: maybeTime(row.updated_at),
  };
}

function toProperty(row: Selectable<MetadefPropertiesTable>): MetadefProperty {
  return {
    id: Number(row.id),
    name: row.name,
    schema: JSON.parse(row.json_schema) as JsonMap,
    created_at: time(row.created_at),
    updated_at: maybeTime(row.updated_at),
  };
}

function toTag(row: Selectable<MetadefTagsTable>): MetadefTag {
  return { id: Number(row.id), name: row.name, created_at: time(row.created_at), updated_at: maybeTime(row.updated_at) };
}

function namespaceColumns(fields: NamespaceFields) {
  return {
    namespace: fields.namespace,
    display_name: fields.display_name,
    description: fields.description,
    visibility: fields.visibility,
    protected: fields.protected ? 1 : 0,
    owner: fields.owner,
  };
}

function objectColumns(fields: ObjectFields) {
  return {
    name: fields.name,
    description: fields.description,
    required: fields.required && fields.required.length > 0 ? fields.required.join(',') : null,
    json_schema: JSON.stringify(fields.properties ?? {}),
  };
}

const tagConflict = (name: string, ns: string) =>
  `A metadata tag with name=${name} already exists in namespace=${ns}. (Please note that metadata tag names are case insensitive).`;

/** Runs `write`, turning a unique-key violation into Conflict(message). */
async function unique<R>(message: string, write: () => Promise<R>): Promise<R> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof UniqueViolation) throw new Conflict(message, { cause: err });
    throw err;
  }
}

/**
 * @example const { db, engine } = openDatabase({ url }); const metadefs = createMetadefRepository(db, { engine });
 */
export function createMetadefRepository(db: Kysely<Schema>, opts: { readonly engine?: SqlEngine } = {}): MetadefRepository {
  const engine = opts.engine ?? sqliteEngine;

  async function namespaceByName(q: Db, name: string): Promise<MetadefNamespace | null> {
    const row = await q.selectFrom('metadef_namespaces').selectAll().where('namespace', '=', name).executeTakeFirst();
    return row === undefined ? null : toNamespace(row);
  }

  async function insertObject(q: Db, ns: MetadefNamespace, fields: ObjectFields, now: Date): Promise<MetadefObject> {
    await unique(`A metadata definition object with name=${fields.name} already exists in namespace=${ns.namespace}.`, () =>
      q
        .insertInto('metadef_objects')
        .values({ namespace_id: ns.id, ...objectColumns(fields), created_at: ms(now), updated_at: ms(now) })
        .execute(),
    );
    const row = await q.selectFrom('metadef_objects').selectAll().where('namespace_id', '=', ns.id).where('name', '=', fields.name).executeTakeFirstOrThrow();
    return toObject(row);
  }

  async function insertProperty(q: Db, ns: MetadefNamespace, name: string, schema: JsonMap, now: Date): Promise<MetadefProperty> {
    await unique(`A metadata definition property with name=${name} already exists in namespace=${ns.namespace}.`, () =>
      q
        .insertInto('metadef_properties')
        .values({ namespace_id: ns.id, name, json_schema: JSON.stringify(schema), created_at: ms(now), updated_at: ms(now) })
        .execute(),
    );
    const row = await q.selectFrom('metadef_properties').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirstOrThrow();
    return toProperty(row);
  }

  async function insertTag(q: Db, ns: MetadefNamespace, name: string, now: Date): Promise<MetadefTag> {
    await unique(tagConflict(name, ns.namespace), () =>
      q.insertInto('metadef_tags').values({ namespace_id: ns.id, name, created_at: ms(now), updated_at: ms(now) }).execute(),
    );
    const row = await q.selectFrom('metadef_tags').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirstOrThrow();
    return toTag(row);
  }

  async function insertAssociation(q: Db, ns: MetadefNamespace, fields: AssociationFields, now: Date): Promise<ResourceTypeAssociation> {
    let type = await q.selectFrom('metadef_resource_types').select('id').where('name', '=', fields.name).executeTakeFirst();
    if (type === undefined) {
      // A resource type named for the first time comes into being (not protected: only
      // load_metadefs seeds protected ones).
      await unique(`A metadata definition resource-type with name=${fields.name} already exists.`, () =>
        q.insertInto('metadef_resource_types').values({ name: fields.name, protected: 0, created_at: ms(now), updated_at: ms(now) }).execute(),
      );
      type = await q.selectFrom('metadef_resource_types').select('id').where('name', '=', fields.name).executeTakeFirstOrThrow();
    }
    const typeId = Number(type.id);
    await unique(
      `The metadata definition resource-type association of resource-type=${fields.name} to namespace=${ns.namespace} already exists.`,
      () =>
        q
          .insertInto('metadef_namespace_resource_types')
          .values({
            resource_type_id: typeId,
            namespace_id: ns.id,
            prefix: fields.prefix,
            properties_target: fields.properties_target,
            created_at: ms(now),
            updated_at: ms(now),
          })
          .execute(),
    );
    return { ...fields, created_at: now, updated_at: now };
  }

  async function save<T>(q: Db, message: string, write: (q: Db) => Promise<unknown>, read: (q: Db) => Promise<T>): Promise<T> {
    await unique(message, () => write(q));
    return read(q);
  }

  return {
    getNamespace: (name) => namespaceByName(db, name),

    async listNamespaces(filter) {
      let query = db.selectFrom('metadef_namespaces').selectAll();
      if (!filter.scope.all) {
        const project = filter.scope.project;
        query =
          project === null
            ? query.where('visibility', '=', 'public')
            : query.where((eb) => eb.or([eb('owner', '=', project), eb('visibility', '=', 'public')]));
      }
      if (filter.visibility !== undefined) query = query.where('visibility', '=', filter.visibility);
      if (filter.resourceTypes !== undefined) {
        const names = [...filter.resourceTypes];
        if (names.length === 0) return [];
        query = query.where('id', 'in', (eb) =>
          eb
            .selectFrom('metadef_namespace_resource_types as a')
            .innerJoin('metadef_resource_types as t', 't.id', 'a.resource_type_id')
            .select('a.namespace_id')
            .where('t.name', 'in', names),
        );
      }
      return (await query.orderBy('id').execute()).map(toNamespace);
    },

    async addNamespace(fields, now, contents) {
      return inTransaction(db, engine, async (trx) => {
        await unique(`The metadata definition namespace=${fields.namespace} already exists.`, () =>
          trx
            .insertInto('metadef_namespaces')
            .values({ ...namespaceColumns(fields), created_at: ms(now), updated_at: ms(now) })
            .execute(),
        );
        const ns = (await namespaceByName(trx, fields.namespace))!;
        if (contents !== undefined) {
          // Glance's order: resource types, objects, tags, properties.
          for (const a of contents.associations) await insertAssociation(trx, ns, a, now);
          for (const o of contents.objects) await insertObject(trx, ns, o, now);
          for (const t of contents.tags) await insertTag(trx, ns, t, now);
          for (const [name, schema] of Object.entries(contents.properties)) await insertProperty(trx, ns, name, schema, now);
        }
        return ns;
      });
    },

    saveNamespace: (ns, fields, now) =>
      save(
        db,
        `Invalid update. It would result in a duplicate metadata definition namespace with the same name of ${fields.namespace}`,
        (q) => q.updateTable('metadef_namespaces').set({ ...namespaceColumns(fields), updated_at: ms(now) }).where('id', '=', ns.id).execute(),
        async (q) => toNamespace(await q.selectFrom('metadef_namespaces').selectAll().where('id', '=', ns.id).executeTakeFirstOrThrow()),
      ),

    async removeNamespace(ns) {
      // Children go by ON DELETE CASCADE; the associations' resource types stay.
      await db.deleteFrom('metadef_namespaces').where('id', '=', ns.id).execute();
    },
    async removeObjects(ns) {
      await db.deleteFrom('metadef_objects').where('namespace_id', '=', ns.id).execute();
    },
    async removeProperties(ns) {
      await db.deleteFrom('metadef_properties').where('namespace_id', '=', ns.id).execute();
    },
    async removeTags(ns) {
      await db.deleteFrom('metadef_tags').where('namespace_id', '=', ns.id).execute();
    },

    async listObjects(ns) {
      return (await db.selectFrom('metadef_objects').selectAll().where('namespace_id', '=', ns.id).orderBy('id').execute()).map(toObject);
    },
    async getObject(ns, name) {
      const row = await db.selectFrom('metadef_objects').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst();
      return row === undefined ? null : toObject(row);
    },
    addObject: (ns, fields, now) => insertObject(db, ns, fields, now),
    saveObject: (ns, object, fields, now) =>
      save(
        db,
        `Invalid update. It would result in a duplicate metadata definition object with the same name=${fields.name} in namespace=${ns.namespace}.`,
        (q) => q.updateTable('metadef_objects').set({ ...objectColumns(fields), updated_at: ms(now) }).where('id', '=', object.id).execute(),
        async (q) => toObject(await q.selectFrom('metadef_objects').selectAll().where('id', '=', object.id).executeTakeFirstOrThrow()),
      ),
    async removeObject(object) {
      await db.deleteFrom('metadef_objects').where('id', '=', object.id).execute();
    },

    async listProperties(ns) {
      return (await db.selectFrom('metadef_properties').selectAll().where('namespace_id', '=', ns.id).orderBy('id').execute()).map(toProperty);
    },
    async getProperty(ns, name) {
      const row = await db.selectFrom('metadef_properties').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst();
      return row === undefined ? null : toProperty(row);
    },
    addProperty: (ns, name, schema, now) => insertProperty(db, ns, name, schema, now),
    saveProperty: (ns, property, name, schema, now) =>
      save(
        db,
        `Invalid update. It would result in a duplicate metadata definition property with the same name=${name} in namespace=${ns.namespace}.`,
        (q) =>
          q
            .updateTable('metadef_properties')
            .set({ name, json_schema: JSON.stringify(schema), updated_at: ms(now) })
            .where('id', '=', property.id)
            .execute(),
        async (q) => toProperty(await q.selectFrom('metadef_properties').selectAll().where('id', '=', property.id).executeTakeFirstOrThrow()),
      ),
    async removeProperty(property) {
      await db.deleteFrom('metadef_properties').where('id', '=', property.id).execute();
    },

    async listTags(ns) {
      return (await db.selectFrom('metadef_tags').selectAll().where('namespace_id', '=', ns.id).orderBy('id').execute()).map(toTag);
    },
    async getTag(ns, name) {
      const row = await db.selectFrom('metadef_tags').selectAll().where('namespace_id', '=', ns.id).where('name', '=', name).executeTakeFirst();
      return row === undefined ? null : toTag(row);
    },
    addTag: (ns, name, now) => insertTag(db, ns, name, now),
    addTags: (ns, names, append, now) =>
      inTransaction(db, engine, async (trx) => {
        if (!append) await trx.deleteFrom('metadef_tags').where('namespace_id', '=', ns.id).execute();
        const out: MetadefTag[] = [];
        for (const name of names) out.push(await insertTag(trx, ns, name, now));
        return out;
      }),
    saveTag: (ns, tag, name, now) =>
      save(
        db,
        tagConflict(name, ns.namespace),
        (q) => q.updateTable('metadef_tags').set({ name, updated_at: ms(now) }).where('id', '=', tag.id).execute(),
        async (q) => toTag(await q.selectFrom('metadef_tags').selectAll().where('id', '=', tag.id).executeTakeFirstOrThrow()),
      ),
    async removeTag(tag) {
      await db.deleteFrom('metadef_tags').where('id', '=', tag.id).execute();
    },

    async listResourceTypes() {
      const rows = await db.selectFrom('metadef_resource_types').selectAll().orderBy('id').execute();
      return rows.map((r) => ({ name: r.name, protected: Number(r.protected) === 1, created_at: time(r.created_at), updated_at: maybeTime(r.updated_at) }));
    },
    async listAssociations(ns) {
      const rows = await db
        .selectFrom('metadef_namespace_resource_types as a')
        .innerJoin('metadef_resource_types as t', 't.id', 'a.resource_type_id')
        .select(['t.name', 'a.prefix', 'a.properties_target', 'a.created_at', 'a.updated_at'])
        .where('a.namespace_id', '=', ns.id)
        .orderBy('t.id')
        .execute();
      return rows.map((r) => ({ name: r.name, prefix: r.prefix, properties_target: r.properties_target, created_at: time(r.created_at), updated_at: maybeTime(r.updated_at) }));
    },
    addAssociation: (ns, fields, now) => inTransaction(db, engine, (trx) => insertAssociation(trx, ns, fields, now)),
    async removeAssociation(ns, resourceType) {
      const result = await db
        .deleteFrom('metadef_namespace_resource_types')
        .where('namespace_id', '=', ns.id)
        .where('resource_type_id', 'in', (eb) => eb.selectFrom('metadef_resource_types').select('id').where('name', '=', resourceType))
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
