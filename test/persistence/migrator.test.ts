import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../../src/persistence/database.js';
import { MIGRATIONS, currentRevision, migrateToLatest } from '../../src/persistence/migrator.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'iris-migrator-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const LATEST = MIGRATIONS[MIGRATIONS.length - 1]![0];

test('migration names are unique and already in the order Kysely runs them', () => {
  const names = MIGRATIONS.map(([name]) => name);
  assert.deepEqual([...names].sort(), names);
  assert.equal(new Set(names).size, names.length);
});

test('a fresh database has no revision, migrates to the latest, and reports it', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'a', 'b', 'iris.sqlite');
    const { db, close } = openDatabase({ sqlitePath: path });
    try {
      assert.equal(await currentRevision(db), null);
      assert.equal(await migrateToLatest(db), LATEST);
      assert.equal(await currentRevision(db), LATEST);
      const tables = (await db.introspection.getTables()).map((t) => t.name).sort();
      assert.deepEqual(tables, [
        'cache_queue', 'cached_images', 'image_locations', 'image_members', 'image_properties', 'image_tags', 'images',
        'metadef_namespace_resource_types', 'metadef_namespaces', 'metadef_objects', 'metadef_properties', 'metadef_resource_types', 'metadef_tags',
        'quota_locks', 'quota_reservations', 'tasks',
      ]);
    } finally {
      await close();
    }
  });
});

test('migrating twice is a no-op; the revision survives reopening', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'iris.sqlite');
    const first = openDatabase({ sqlitePath: path });
    await migrateToLatest(first.db);
    await first.close();

    const second = openDatabase({ sqlitePath: path });
    try {
      assert.equal(await currentRevision(second.db), LATEST);
      assert.equal(await migrateToLatest(second.db), LATEST);
      const applied = await second.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
      assert.equal(applied.length, MIGRATIONS.length);
    } finally {
      await second.close();
    }
  });
});

test('openDatabase sets the pragmas', async () => {
  await withTempDir(async (dir) => {
    const { db, close } = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
    try {
      const pragma = async (name: string) => {
        const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(db);
        const row = rows[0];
        assert.ok(row, `pragma ${name} returned no row`);
        return Object.values(row)[0];
      };
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('synchronous'), 1); // NORMAL
      assert.equal(await pragma('foreign_keys'), 1);
      assert.equal(await pragma('busy_timeout'), 5000);
    } finally {
      await close();
    }
  });
});

test('a database migrated by a newer build is refused, not silently altered', async () => {
  await withTempDir(async (dir) => {
    const { db, close } = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
    try {
      await migrateToLatest(db);
      await db
        .insertInto('kysely_migration' as never)
        .values({ name: '999-future', timestamp: new Date().toISOString() } as never)
        .execute();
      assert.equal(await currentRevision(db), '999-future');
      await assert.rejects(migrateToLatest(db));
    } finally {
      await close();
    }
  });
});
