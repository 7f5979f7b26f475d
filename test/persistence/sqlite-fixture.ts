/**
 * Shared set-up for the persistence tests: a real, migrated SQLite file in a temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Image } from '../../src/domain/image.js';
import type { MemberStatus } from '../../src/domain/ports.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createSqliteImageRepository } from '../../src/persistence/image-repository.js';
import type { SqliteImageRepository } from '../../src/persistence/image-repository.js';
import { migrateToLatest } from '../../src/persistence/migrator.js';
import type { Schema } from '../../src/persistence/schema.js';

export interface TestDb {
  readonly db: Kysely<Schema>;
  readonly repo: SqliteImageRepository;
  readonly path: string;
  cleanup(): Promise<void>;
}

export const FIXED_NOW = new Date('2024-05-01T12:00:00.000Z');

export async function createTestDb(): Promise<TestDb> {
  const dir = await mkdtemp(join(tmpdir(), 'iris-persistence-'));
  const path = join(dir, 'nested', 'iris.sqlite');
  const { db, close } = openDatabase({ sqlitePath: path });
  await migrateToLatest(db);
  const repo = createSqliteImageRepository(db, { clock: { now: () => FIXED_NOW } });
  return {
    db,
    repo,
    path,
    async cleanup() {
      await close();
      await rm(dir, { recursive: true, force: true });
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
