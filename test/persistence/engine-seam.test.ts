/**
 * What the dialect seam promises on every engine (SQLite, PostgreSQL, MariaDB): exact big
 * integers, 4-byte UTF-8, one winner for raced compare-and-swap and inserts from two
 * connection pools, deadlock retry, reconnection after lost connections, 503 for an
 * unreachable server, and `db purge`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { Conflict, ServiceUnavailable } from '../../src/domain/errors.js';
import { newImageMember } from '../../src/domain/member.js';
import { openDatabase } from '../../src/persistence/database.js';
import type { Database } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import { createMemberRepository } from '../../src/persistence/member-repository.js';
import { purgeDeletedRows } from '../../src/persistence/purge.js';
import { inTransaction, RetryableConflict } from '../../src/persistence/sql-engine.js';
import { freePort } from '../helpers/iris-server.js';
import { FIXED_NOW, addMember, createTestDb, makeImage } from './sqlite-fixture.js';
import type { TestDb } from './sqlite-fixture.js';
import { testEngines } from './test-engines.js';

const ADMIN_ALL = { project: null, isAdmin: true, visibility: 'all', memberStatus: 'accepted' } as const;

for (const engine of await testEngines()) {
  describe(`dialect seam on ${engine.name}`, { skip: engine.skip }, () => {
    let t: TestDb;
    /**
     * A second, independent connection pool on the same database (a second API process). On
     * SQLite the same handle: better-sqlite3 waits for a lock synchronously, so a second handle
     * in the same process would block the event loop the lock holder needs (SQLite's races are
     * between processes, serialized by its file lock).
     */
    let other: Database;
    before(async () => {
      t = await createTestDb(engine.server);
      other =
        t.path !== ''
          ? { db: t.db, engine: t.engine, target: { engine: 'sqlite', path: t.path }, close: async () => undefined }
          : openDatabase({ url: t.url });
    });
    after(async () => {
      await other.close();
      await t.cleanup();
    });

    test('sizes above 2^32 and exact integers up to 2^53 - 1 round-trip; sums stay exact', async () => {
      const big = makeImage({ owner: 'big', status: 'active', size: 2 ** 53 - 1, virtual_size: 2 ** 32 + 1 });
      const small = makeImage({ owner: 'big2', status: 'active', size: 2 ** 32 + 7 });
      await t.repo.add(big);
      await t.repo.add(small);
      const got = await t.repo.get(big.id);
      assert.equal(got?.size, 2 ** 53 - 1);
      assert.equal(got?.virtual_size, 2 ** 32 + 1);
      const listed = await t.repo.list({ scope: ADMIN_ALL, filters: { size_min: 2 ** 53 - 1 }, sort: [], limit: 10 });
      assert.deepEqual(listed.map((i) => i.id), [big.id]);
      await t.repo.save({ ...small, locations: [{ url: 'file:///a', metadata: {}, status: 'active' }, { url: 'file:///b', metadata: {}, status: 'active' }] });
      assert.equal(await t.repo.usedStorage('big2'), 2 * (2 ** 32 + 7));
    });

    test('4-byte UTF-8 names, properties and tags round-trip and filter exactly', async () => {
      const image = makeImage({
        name: 'tea 🍵 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
        tags: ['🏷️', '𠜎'],
        properties: { 'emoji_🔑': 'value 🚀', plain: '𝕏' },
      });
      await t.repo.add(image);
      const got = await t.repo.get(image.id);
      assert.equal(got?.name, image.name);
      assert.deepEqual(got?.tags, image.tags);
      assert.deepEqual(got?.properties, image.properties);
      const byName = await t.repo.list({ scope: ADMIN_ALL, filters: { name: { eq: 'tea 🍵 𝔘𝔫𝔦𝔠𝔬𝔡𝔢' } }, sort: [], limit: 10 });
      assert.deepEqual(byName.map((i) => i.id), [image.id]);
      const byTag = await t.repo.list({ scope: ADMIN_ALL, filters: { tags: ['𠜎'] }, sort: [], limit: 10 });
      assert.deepEqual(byTag.map((i) => i.id), [image.id]);
      // A different 4-byte character must not compare equal (no collation folding).
      const none = await t.repo.list({ scope: ADMIN_ALL, filters: { tags: ['𠜏'] }, sort: [], limit: 10 });
      assert.deepEqual(none, []);
    });

    test('compare-and-swap raced from two connection pools: exactly one winner each round', async () => {
      const otherRepo = createImageRepository(other.db, { engine: other.engine, clock: { now: () => FIXED_NOW } });
      for (let round = 0; round < 8; round += 1) {
        const image = makeImage({ status: 'queued' });
        await t.repo.add(image);
        const results = await Promise.allSettled([
          t.repo.save({ ...image, status: 'saving', name: 'first' }, { fromStatus: 'queued' }),
          otherRepo.save({ ...image, status: 'saving', name: 'second' }, { fromStatus: 'queued' }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
        assert.ok(lost[0]?.reason instanceof Conflict, String(lost[0]?.reason));
        const stored = await t.repo.get(image.id);
        assert.equal(stored?.status, 'saving');
        assert.equal(stored?.name, results[0].status === 'fulfilled' ? 'first' : 'second');
      }
    });

    test('member and property inserts raced from two connection pools: exactly one winner', async () => {
      const members = createMemberRepository(t.db, { engine: t.engine });
      const otherMembers = createMemberRepository(other.db, { engine: other.engine });
      const otherRepo = createImageRepository(other.db, { engine: other.engine });
      for (let round = 0; round < 8; round += 1) {
        const image = makeImage({ visibility: 'shared' });
        await t.repo.add(image);
        // A soft-deleted membership first in odd rounds: the race is then on reviving it.
        if (round % 2 === 1) await addMember(t.db, image.id, 'proj-x', 'accepted', { deleted: true });
        const added = await Promise.allSettled([
          members.add(newImageMember(image.id, 'proj-x', FIXED_NOW)),
          otherMembers.add(newImageMember(image.id, 'proj-x', FIXED_NOW)),
        ]);
        assert.equal(added.filter((r) => r.status === 'fulfilled').length, 1, `members round ${round}`);
        const loser = added.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.ok(loser?.reason instanceof Conflict, String(loser?.reason));
        assert.equal(await members.count(image.id), 1);

        const props = await Promise.allSettled([
          t.repo.setPropertyAtomic(image.id, 'os_glance_import_task', 'a'),
          otherRepo.setPropertyAtomic(image.id, 'os_glance_import_task', 'b'),
        ]);
        assert.equal(props.filter((r) => r.status === 'fulfilled').length, 1, `properties round ${round}`);
        const propLoser = props.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.ok(propLoser?.reason instanceof Conflict, String(propLoser?.reason));
      }
    });

    if (engine.name !== 'sqlite') {
      if (engine.name === 'postgresql') {
        test('name sorts walk the list index in both directions (NULLs first ascending, no Sort)', async () => {
          for (const dir of ['asc', 'desc'] as const) {
            const [query] = await t.repo.compileListQuery({ scope: ADMIN_ALL, filters: {}, sort: [{ key: 'name', dir }], limit: 25 });
            const plan = await t.db.transaction().execute(async (trx) => {
              // On a near-empty table a sequential scan would win; what matters is whether the index can give the order.
              await sql`set local enable_seqscan = off`.execute(trx);
              const { rows } = await trx.executeQuery<Record<string, string>>({ ...query!, sql: `explain ${query!.sql}` });
              return rows.map((r) => r['QUERY PLAN']).join('\n');
            });
            assert.match(plan, /Index Scan.* using ix_images_list_name/, plan);
            assert.doesNotMatch(plan, /Sort/, plan);
          }
        });
      }

      test('a deadlock is retried: both crossed transactions commit', async () => {
        const a = makeImage({ name: 'a' });
        const b = makeImage({ name: 'b' });
        await t.repo.add(a);
        await t.repo.add(b);
        let attempts = 0;
        let deadlocks = 0;
        // Each side locks its first row, waits until the other has too, then wants the other's.
        let arrived = 0;
        let release: () => void = () => undefined;
        const bothLocked = new Promise<void>((resolve) => (release = resolve));
        const cross = (db: Database, first: string, second: string, label: string) =>
          inTransaction(db.db, db.engine, async (trx) => {
            attempts += 1;
            try {
              await trx.updateTable('images').set({ name: `${label}-1` }).where('id', '=', first).execute();
              arrived += 1;
              if (arrived === 2) release();
              await Promise.race([bothLocked, new Promise((r) => setTimeout(r, 2000))]);
              await trx.updateTable('images').set({ name: label }).where('id', '=', second).execute();
            } catch (err) {
              if (err instanceof RetryableConflict) deadlocks += 1;
              throw err;
            }
          });
        const database: Database = { db: t.db, engine: t.engine, target: other.target, close: async () => undefined };
        await Promise.all([cross(database, a.id, b.id, 'left'), cross(other, b.id, a.id, 'right')]);
        assert.ok(deadlocks >= 1, 'the engine reported a deadlock');
        assert.ok(attempts >= 3, `one side ran again (attempts: ${attempts})`);
      });

      test('connections killed by the server are replaced: the next calls succeed', async () => {
        await t.repo.get(makeImage().id); // make sure the pool holds a connection
        const others =
          engine.name === 'postgresql'
            ? sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`
            : undefined;
        if (others !== undefined) {
          await others.execute(other.db);
        } else {
          const { rows } = await sql<{ id: number }>`select id from information_schema.processlist where db = database() and id <> connection_id()`.execute(other.db);
          for (const row of rows) await sql`kill connection ${sql.raw(String(Number(row.id)))}`.execute(other.db);
        }
        // A call that meets a dead pooled connection fails with 503 (at most once per pooled
        // connection, as the pool drops it); then the pool opens new ones and calls succeed.
        let failures = 0;
        for (;;) {
          try {
            await t.repo.list({ scope: ADMIN_ALL, filters: {}, sort: [], limit: 1 });
            break;
          } catch (err) {
            assert.ok(err instanceof ServiceUnavailable, String(err));
            failures += 1;
            assert.ok(failures <= 5, 'the pool replaces its dead connections');
          }
        }
        for (let i = 0; i < 3; i += 1) await t.repo.list({ scope: ADMIN_ALL, filters: {}, sort: [], limit: 1 });
      });

      test('pool_timeout: with every pooled connection busy, a request fails with 503 instead of queueing forever', async () => {
        const small = openDatabase({ url: t.url, pool: { maxPoolSize: 1, maxOverflow: 0, poolTimeout: 1 } });
        try {
          let release: () => void = () => undefined;
          const held = new Promise<void>((resolve) => (release = resolve));
          let started: () => void = () => undefined;
          const holding = new Promise<void>((resolve) => (started = resolve));
          const busy = small.db.transaction().execute(async (trx) => {
            await sql`select 1`.execute(trx);
            started();
            await held;
          });
          await holding;
          const repo = createImageRepository(small.db, { engine: small.engine });
          await assert.rejects(repo.get(makeImage().id), (err: unknown) => err instanceof ServiceUnavailable && /pool_timeout|timeout/.test(err.message + String(err.cause)));
          release();
          await busy;
          assert.equal(await repo.get(makeImage().id), null, 'the pool serves again once the connection is free');
        } finally {
          await small.close();
        }
      });

      test('an unreachable server is ServiceUnavailable (503), not a raw driver error', async () => {
        const port = await freePort();
        const url = t.url.replace(/@127\.0\.0\.1:\d+\//, `@127.0.0.1:${port}/`);
        const dead = openDatabase({ url, pool: { poolTimeout: 2 } });
        try {
          const repo = createImageRepository(dead.db, { engine: dead.engine });
          await assert.rejects(repo.get(makeImage().id), (err: unknown) => err instanceof ServiceUnavailable);
        } finally {
          await dead.close();
        }
      });
    }

    test('purge removes what hangs off images deleted before the cut-off, oldest first, at most max_rows a table', async () => {
      // Fresh database: counts are exact.
      const p = await createTestDb(engine.server);
      try {
        const day = 86_400_000;
        const images = [0, 1, 2].map(() =>
          makeImage({ status: 'active', locations: [{ url: 'file:///x', metadata: {}, status: 'active' }] }),
        );
        for (const image of images) {
          await p.repo.add(image);
          await addMember(p.db, image.id, 'm', 'accepted');
        }
        const keep = makeImage({ status: 'active', locations: [{ url: 'file:///k', metadata: {}, status: 'active' }] });
        await p.repo.add(keep);
        await addMember(p.db, keep.id, 'gone', 'accepted', { deleted: true });
        for (const image of images) await p.repo.remove(image.id);
        // Deleted 40, 39 and 38 days before FIXED_NOW; the kept image's old membership 1 day before.
        for (const [i, image] of images.entries()) {
          const at = FIXED_NOW.getTime() - (40 - i) * day;
          await p.db.updateTable('images').set({ deleted_at: at }).where('id', '=', image.id).execute();
          await p.db.updateTable('image_members').set({ deleted_at: at }).where('image_id', '=', image.id).execute();
        }
        await p.db.updateTable('image_members').set({ deleted_at: FIXED_NOW.getTime() - day }).where('image_id', '=', keep.id).execute();

        const cutoff = new Date(FIXED_NOW.getTime() - 30 * day);
        assert.deepEqual(await purgeDeletedRows(p.db, { deletedBefore: cutoff, maxRows: 2 }), [
          ['image_locations', 2],
          ['image_members', 2],
          ['tasks', 0],
        ]);
        // The oldest went first.
        const left = await p.db.selectFrom('image_locations').select('image_id').orderBy('image_id').execute();
        assert.deepEqual(left.map((r) => r.image_id).sort(), [images[2]!.id, keep.id].sort());
        assert.deepEqual(await purgeDeletedRows(p.db, { deletedBefore: cutoff, maxRows: -1 }), [
          ['image_locations', 1],
          ['image_members', 1],
          ['tasks', 0],
        ]);
        // Image rows stay (ids are never reused); newer deletions and live rows stay.
        assert.equal((await p.db.selectFrom('images').select('id').execute()).length, 4);
        assert.equal((await p.db.selectFrom('image_members').select('id').where('image_id', '=', keep.id).execute()).length, 1);
        assert.equal((await p.repo.get(keep.id))?.locations.length, 1);
      } finally {
        await p.cleanup();
      }
    });
  });
}
