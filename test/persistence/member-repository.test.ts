/** MemberRepository on a real, migrated database of every engine (test-engines.ts). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { Conflict, NotFound } from '../../src/domain/errors.js';
import { newImageMember } from '../../src/domain/member.js';
import type { MemberRepository } from '../../src/domain/ports.js';
import { createMemberRepository } from '../../src/persistence/member-repository.js';
import { FIXED_NOW, createTestDb, makeImage } from './sqlite-fixture.js';
import type { TestDb } from './sqlite-fixture.js';
import { testEngines } from './test-engines.js';

const T0 = new Date('2024-05-01T10:00:00.000Z');
const T1 = new Date('2024-05-01T11:00:00.000Z');
const T2 = new Date('2024-05-01T11:30:00.000Z');

for (const engine of await testEngines()) {
  describe(`member repository on ${engine.name}`, { skip: engine.skip }, () => {
    let t: TestDb;
    let members: MemberRepository;
    before(async () => {
      t = await createTestDb(engine.server);
      members = createMemberRepository(t.db, { clock: { now: () => FIXED_NOW }, engine: t.engine });
    });
    after(async () => {
      await t.cleanup();
    });

    async function sharedImage(): Promise<string> {
      const image = makeImage({ visibility: 'shared', owner: 'project-a' });
      await t.repo.add(image);
      return image.id;
    }

    test('add returns the stored membership; get, list and count read it back', async () => {
      const id = await sharedImage();
      const added = await members.add(newImageMember(id, 'project-b', T0));
      assert.deepEqual(added, { image_id: id, member_id: 'project-b', status: 'pending', created_at: T0, updated_at: T0 });
      await members.add(newImageMember(id, 'project-c', T1));
      assert.deepEqual(await members.get(id, 'project-b'), added);
      assert.equal(await members.get(id, 'project-z'), null);
      assert.deepEqual(
        (await members.list(id)).map((m) => m.member_id),
        ['project-b', 'project-c'],
        'oldest first',
      );
      assert.equal(await members.count(id), 2);
      assert.deepEqual(await members.list(await sharedImage()), []);
    });

    test('a second live membership of the same project is a Conflict', async () => {
      const id = await sharedImage();
      await members.add(newImageMember(id, 'project-b', T0));
      await assert.rejects(members.add(newImageMember(id, 'project-b', T1)), Conflict);
      assert.equal(await members.count(id), 1);
    });

    test('save writes status and updated_at; a missing membership is NotFound', async () => {
      const id = await sharedImage();
      const added = await members.add(newImageMember(id, 'project-b', T0));
      await members.save({ ...added, status: 'accepted', updated_at: T1 });
      assert.deepEqual(await members.get(id, 'project-b'), { ...added, status: 'accepted', updated_at: T1 });
      await assert.rejects(members.save({ ...added, member_id: 'project-z' }), NotFound);
    });

    test('remove soft-deletes: the row stays, marked deleted, and reads skip it', async () => {
      const id = await sharedImage();
      await members.add(newImageMember(id, 'project-b', T0));
      await members.remove(id, 'project-b');
      assert.equal(await members.get(id, 'project-b'), null);
      assert.equal(await members.count(id), 0);
      assert.deepEqual(await members.list(id), []);
      const rows = await t.db.selectFrom('image_members').selectAll().where('image_id', '=', id).execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.deleted, 1);
      assert.equal(rows[0]!.deleted_at, FIXED_NOW.getTime());
      await assert.rejects(members.remove(id, 'project-b'), NotFound, 'already removed');
    });

    test('adding a removed member again revives its row and keeps the first created_at (as Glance)', async () => {
      const id = await sharedImage();
      const first = await members.add(newImageMember(id, 'project-b', T0));
      await members.save({ ...first, status: 'accepted', updated_at: T1 });
      await members.remove(id, 'project-b');
      const again = await members.add(newImageMember(id, 'project-b', T2));
      assert.deepEqual(again, { image_id: id, member_id: 'project-b', status: 'pending', created_at: T0, updated_at: T2 });
      const rows = await t.db.selectFrom('image_members').selectAll().where('image_id', '=', id).execute();
      assert.equal(rows.length, 1, 'one row per (image, member), as Glance keeps it');
      assert.equal(rows[0]!.deleted, 0);
      assert.equal(rows[0]!.deleted_at, null);
      await assert.rejects(members.add(newImageMember(id, 'project-b', T2)), Conflict);
    });

    test('memberships of a deleted image are gone with it', async () => {
      const id = await sharedImage();
      await members.add(newImageMember(id, 'project-b', T0));
      await t.repo.remove(id);
      assert.equal(await members.get(id, 'project-b'), null);
      assert.equal(await members.count(id), 0);
    });

    // SQLite's plan only: the other engines key the same index without a partial predicate.
    if (engine.name === 'sqlite') {
      test('a lookup spelled as the repository does (literal deleted = 0) uses the partial unique index', async () => {
        const plan = t.db
          .selectFrom('image_members')
          .select('status')
          .where('image_id', '=', 'x')
          .where('member', '=', 'y')
          .where('deleted', '=', sql.lit(0))
          .compile();
        const rows = (await t.db.executeQuery({ ...plan, sql: `EXPLAIN QUERY PLAN ${plan.sql}` })).rows as { detail: string }[];
        assert.match(rows.map((r) => r.detail).join('\n'), /ux_image_members_image_member/);
      });
    }
  });
}
