/**
 * A database whose disk is full. `PRAGMA max_page_count` pinned to the file's current size
 * makes SQLite itself fail every growing write with SQLITE_FULL (the same code a full disk
 * gives): the repositories must report that cause, not the "cannot rollback - no transaction
 * is active" of the rollback that follows, and as a domain error the API can answer (503).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { ServiceUnavailable } from '../../src/domain/errors.js';
import { createTestDb, makeImage } from './sqlite-fixture.js';
import type { TestDb } from './sqlite-fixture.js';

let t: TestDb;
before(async () => {
  t = await createTestDb();
});
after(() => t.cleanup());

async function fillUp(): Promise<void> {
  // A few pages of room, so a transaction gets some writes in before the disk is "full".
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(t.db);
  const row = rows[0];
  assert.ok(row, 'pragma page_count returned no row');
  await sql.raw(`pragma max_page_count = ${row.page_count + 4}`).execute(t.db);
}

async function unlimit(): Promise<void> {
  await sql.raw('pragma max_page_count = 1073741823').execute(t.db);
}

function isDiskFull(error: unknown): boolean {
  assert.ok(error instanceof ServiceUnavailable, `expected ServiceUnavailable, got ${String(error)}`);
  assert.match(error.message, /database .*full/i);
  const cause = error.cause as { code?: string } | undefined;
  assert.equal(cause?.code, 'SQLITE_FULL', 'the SQLite error is kept as the cause');
  return true;
}

test('a write in a transaction on a full database fails with SQLITE_FULL as the cause, not the rollback error', async () => {
  await t.repo.add(makeImage());
  await fillUp();
  try {
    // One property larger than the room left. A one-row insert has no statement journal, so
    // SQLite answers SQLITE_FULL by rolling back the whole transaction (as with a real full
    // disk), and the rollback Kysely then sends fails with "no transaction is active".
    const big = makeImage({ properties: { big: 'x'.repeat(100_000) } });
    await assert.rejects(t.repo.add(big), isDiskFull);
    assert.equal(await t.repo.get(big.id), null, 'nothing half-written');
  } finally {
    await unlimit();
  }
  // The connection is usable again once there is room.
  const next = makeImage({ properties: { a: 'b' } });
  await t.repo.add(next);
  assert.deepEqual((await t.repo.get(next.id))?.properties, { a: 'b' });
});

test('a single statement outside a transaction is reported the same way', async () => {
  const image = makeImage();
  await t.repo.add(image);
  await fillUp();
  try {
    let failure: unknown;
    for (let i = 0; i < 500 && failure === undefined; i++) {
      try {
        await sql`insert into image_tags (image_id, value, position) values (${image.id}, ${`tag-${i}-${'y'.repeat(200)}`}, ${i})`.execute(t.db);
      } catch (e) {
        failure = e;
      }
    }
    assert.ok(failure !== undefined, 'the database filled up');
    isDiskFull(failure);
  } finally {
    await unlimit();
  }
});
