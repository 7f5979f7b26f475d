/**
 * Shared set-up for the persistence tests: a real, migrated database — a SQLite file in a
 * temp dir by default, or a fresh database on a throwaway PostgreSQL or MariaDB server
 * (test-engines.ts), so the same repository tests run on every engine of the seam.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Image } from '../../src/domain/image.js';
import type { MemberStatus } from '../../src/domain/ports.js';
import { openDatabase } from '../../src/persistence/database.js';
import type { Database } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import type { ImageRepositoryWithListSql } from '../../src/persistence/image-repository.js';
import { migrateToLatest } from '../../src/persistence/migrator.js';
import type { Schema } from '../../src/persistence/schema.js';
import type { SqlEngine } from '../../src/persistence/sql-engine.js';
import type { SqlServer } from '../helpers/sql-server.js';

export interface TestDb {
  readonly db: Kysely<Schema>;
  readonly engine: SqlEngine;
  readonly repo: ImageRepositoryWithListSql;
  /** The SQLite file ('' on a server engine). */
  readonly path: string;
  /** The URL the database was opened with (sqlite:////path for SQLite). */
  readonly url: string;
  cleanup(): Promise<void>;
}

export const FIXED_NOW = new Date('2024-05-01T12:00:00.000Z');

let databases = 0;

/**
 * A fresh, migrated database: a SQLite file, or a new database on `server` when given.
 */
export async function createTestDb(server?: SqlServer): Promise<TestDb> {
  let database: Database;
  let path = '';
  let url: string;
  let dir: string | undefined;
  if (server === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'iris-persistence-'));
    path = join(dir, 'nested', 'iris.sqlite');
    url = `sqlite:///${path}`;
    database = openDatabase({ sqlitePath: path });
  } else {
    databases += 1;
    url = await server.createDatabase(`t${databases}`);
    database = openDatabase({ url });
  }
  const { db, engine, close } = database;
  await migrateToLatest(db, engine);
  const repo = createImageRepository(db, { clock: { now: () => FIXED_NOW }, engine });
  return {
    db,
    engine,
    repo,
    path,
    url,
    async cleanup() {
      await close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A valid image with every optional field empty; `overrides` wins. */
export function makeImage(overrides: Partial<Image> = {}): Image {
  counter += 1;
  const id = overrides.id ?? `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  return {
    id,
    name: null,
    status: 'queued',
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    checksum: null,
    os_hash_algo: null,
    os_hash_value: null,
    owner: 'project-a',
    size: null,
    virtual_size: null,
    disk_format: null,
    container_format: null,
    min_ram: 0,
    min_disk: 0,
    created_at: new Date(Date.UTC(2024, 0, 1, 0, 0, counter)),
    updated_at: new Date(Date.UTC(2024, 0, 1, 0, 0, counter)),
    tags: [],
    properties: {},
    locations: [],
    ...overrides,
  };
}

/** Memberships have no repository of their own yet: write the row directly. */
export async function addMember(
  db: Kysely<Schema>,
  imageId: string,
  member: string,
  status: MemberStatus,
  opts: { deleted?: boolean } = {},
): Promise<void> {
  await db
    .insertInto('image_members')
    .values({
      image_id: imageId,
      member,
      status,
      created_at: FIXED_NOW.getTime(),
      updated_at: FIXED_NOW.getTime(),
      deleted: opts.deleted ? 1 : 0,
      deleted_at: opts.deleted ? FIXED_NOW.getTime() : null,
    })
    .execute();
}
