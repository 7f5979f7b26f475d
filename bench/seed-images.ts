/**
 * Seeds benchmark images straight into a database, so that 1,000 or 100,000 images exist in
 * seconds instead of minutes of POSTs. The images are the ones `peer-glance/bench.sh` would
 * create through the API (name `bench-seed-N`, raw/bare, queued, tag `bench-seed`, property
 * `bench_prop=vN`, visibility shared, no owner: the admin context without a project), so its
 * seeding step finds enough and adds none.
 */
import { randomUUID } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import type { Image } from '../src/domain/image.js';
import { openDatabase } from '../src/persistence/database.js';
import type { Database } from '../src/persistence/database.js';
import { imageColumns, propertyRows, tagRows } from '../src/persistence/image-rows.js';
import { migrateToLatest } from '../src/persistence/migrator.js';

/** Rows per INSERT: well under SQLite's bound-parameter limit for the widest table. */
const BATCH = 500;

function seedImage(n: number, createdAt: Date): Image {
  return {
    id: randomUUID(),
    name: `bench-seed-${n}`,
    status: 'queued',
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    owner: null,
    size: null,
    virtual_size: null,
    disk_format: 'raw',
    container_format: 'bare',
    min_ram: 0,
    min_disk: 0,
    created_at: createdAt,
    updated_at: createdAt,
    tags: ['bench-seed'],
    properties: { bench_prop: `v${n}` },
    locations: [],
  };
}

/**
 * Adds `count` seed images to Iris's SQLite database at `sqlitePath` (migrating it first), in
 * one transaction, through the persistence layer's own row mappers. Creation times are one
 * millisecond apart, ending now, so the default sort has no ties.
 *
 * @example await seedIrisImages(config.database.sqlite_path, 100_000);
 */
export async function seedIrisImages(sqlitePath: string, count: number): Promise<void> {
  const database = openDatabase({ sqlitePath });
  try {
    await migrateToLatest(database.db);
    await seedImages(database, count);
  } finally {
    await database.close();
  }
}

/**
 * Adds seed images `first`..`first + count - 1` to a migrated Iris database of any engine, in
 * one transaction. Creation times are one millisecond apart, ending now.
 */
export async function seedImages(database: Database, count: number, first = 1): Promise<void> {
  const end = Date.now();
  const last = first + count - 1;
  await database.db.transaction().execute(async (trx) => {
    for (let from = first; from <= last; from += BATCH) {
      const images: Image[] = [];
      for (let n = from; n < from + BATCH && n <= last; n++) images.push(seedImage(n, new Date(end - last + n)));
      await trx.insertInto('images').values(images.map(imageColumns)).execute();
      await trx.insertInto('image_properties').values(images.flatMap(propertyRows)).execute();
      await trx.insertInto('image_tags').values(images.flatMap(tagRows)).execute();
    }
  });
}

/**
 * Adds `count` seed images to the peer Glance's SQLite database, as rows identical to those its
 * API writes for the same POST (checked against a real POST on Glance 25.1.0: times as
 * `YYYY-MM-DD HH:MM:SS.ffffff` UTC, `deleted` 0, properties and tags in their own tables).
 * Safe while the peer runs and is idle: one short write transaction, and Glance caches no lists.
 */
export function seedPeerImages(sqlitePath: string, count: number): void {
  const sqlite = new BetterSqlite3(sqlitePath);
  try {
    sqlite.pragma('busy_timeout = 10000');
    const image = sqlite.prepare(
      `INSERT INTO images (id, name, size, status, created_at, updated_at, deleted_at, deleted, disk_format,
         container_format, checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, os_hidden,
         os_hash_algo, os_hash_value)
       VALUES (?, ?, NULL, 'queued', ?, ?, NULL, 0, 'raw', 'bare', NULL, NULL, 0, 0, 0, NULL, 'shared', 0, NULL, NULL)`,
    );
    const property = sqlite.prepare(
      `INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted_at, deleted)
       VALUES (?, 'bench_prop', ?, ?, ?, NULL, 0)`,
    );
    const tag = sqlite.prepare(
      `INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted_at, deleted)
       VALUES (?, 'bench-seed', ?, ?, NULL, 0)`,
    );
    const end = Date.now();
    sqlite.transaction(() => {
      for (let n = 1; n <= count; n++) {
        const id = randomUUID();
        const at = pythonTime(new Date(end - count + n));
        image.run(id, `bench-seed-${n}`, at, at);
        property.run(id, `v${n}`, at, at);
        tag.run(id, at, at);
      }
    })();
  } finally {
    sqlite.close();
  }
}

/** A time as SQLAlchemy stores Python datetimes in SQLite (microseconds, no zone). */
function pythonTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 23)}000`;
}
