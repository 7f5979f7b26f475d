/**
 * 004-metadefs: the metadata definitions catalog (Glance's metadef_* tables).
 *
 * Same six tables and unique keys as Glance (models_metadef.py), with Iris's conventions:
 * times are epoch milliseconds, booleans 0/1. Children of a namespace go with it (ON DELETE
 * CASCADE), which is what Glance's delete_cascade does by hand. A namespace's `visibility`
 * stays nullable: a definition file without one is loaded as NULL by Glance, shown as
 * `private`, and listed to non-admins as neither public nor theirs.
 *
 * Property definitions (`json_schema`) are JSON text; an object's `required` list is the
 * comma-joined text Glance stores.
 *
 * A migration is a frozen snapshot: it imports nothing from the domain.
 */
import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { SqlEngine } from '../sql-engine.js';

export const migration004Metadefs = (engine: SqlEngine): Migration => ({
  async up(db: Kysely<any>): Promise<void> {
    const { string, text, integer, bigint } = engine.types;
    const flag = (name: string) => sql`${sql.ref(name)} in (0, 1)`;

    await engine
      .tableOptions(
        engine
          .autoIncrementId(db.schema.createTable('metadef_namespaces'))
          .addColumn('namespace', string(80), (c) => c.notNull())
          .addColumn('display_name', string(80))
          .addColumn('description', text)
          .addColumn('visibility', string(32))
          .addColumn('protected', integer, (c) => c.notNull().defaultTo(0).check(flag('protected')))
          .addColumn('owner', string(255), (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint)
          .addUniqueConstraint('uq_metadef_namespaces_namespace', ['namespace']),
        {},
      )
      .execute();
    await db.schema.createIndex('ix_metadef_namespaces_owner').on('metadef_namespaces').column('owner').execute();

    await engine
      .tableOptions(
        engine
          .autoIncrementId(db.schema.createTable('metadef_resource_types'))
          .addColumn('name', string(80), (c) => c.notNull())
          .addColumn('protected', integer, (c) => c.notNull().defaultTo(0).check(flag('protected')))
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint)
          .addUniqueConstraint('uq_metadef_resource_types_name', ['name']),
        {},
      )
      .execute();

    await engine
      .tableOptions(
        db.schema
          .createTable('metadef_namespace_resource_types')
          .addColumn('resource_type_id', bigint, (c) => c.notNull().references('metadef_resource_types.id'))
          .addColumn('namespace_id', bigint, (c) => c.notNull().references('metadef_namespaces.id').onDelete('cascade'))
          .addColumn('properties_target', string(80))
          .addColumn('prefix', string(80))
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint)
          .addPrimaryKeyConstraint('pk_metadef_namespace_resource_types', ['resource_type_id', 'namespace_id']),
        {},
      )
      .execute();
    await db.schema
      .createIndex('ix_metadef_ns_res_types_namespace_id')
      .on('metadef_namespace_resource_types')
      .column('namespace_id')
      .execute();

    // Objects, properties and tags: one row per name within a namespace.
    const children: readonly [string, (t: any) => any][] = [
      ['metadef_objects', (t) => t.addColumn('description', text).addColumn('required', text).addColumn('json_schema', text, (c: any) => c.notNull())],
      ['metadef_properties', (t) => t.addColumn('json_schema', text, (c: any) => c.notNull())],
      ['metadef_tags', (t) => t],
    ];
    for (const [table, columns] of children) {
      const base = engine
        .autoIncrementId(db.schema.createTable(table))
        .addColumn('namespace_id', bigint, (c) => c.notNull().references('metadef_namespaces.id').onDelete('cascade'))
        .addColumn('name', string(80), (c) => c.notNull());
      await engine
        .tableOptions(
          columns(base)
            .addColumn('created_at', bigint, (c: any) => c.notNull())
            .addColumn('updated_at', bigint)
            .addUniqueConstraint(`uq_${table}_namespace_id_name`, ['namespace_id', 'name']),
          {},
        )
        .execute();
      await db.schema.createIndex(`ix_${table}_name`).on(table).column('name').execute();
    }
  },

  async down(db: Kysely<any>): Promise<void> {
    for (const table of ['metadef_tags', 'metadef_properties', 'metadef_objects', 'metadef_namespace_resource_types', 'metadef_resource_types', 'metadef_namespaces']) {
      await db.schema.dropTable(table).execute();
    }
  },
});
