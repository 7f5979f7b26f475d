import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, Invalid, NotFound } from '../../src/domain/errors.js';
import type { Image } from '../../src/domain/image.js';
import type { ImageFilters, ListQuery, ListScope, SortDir, SortKey } from '../../src/domain/ports.js';
import { SORT_KEYS } from '../../src/domain/ports.js';
import { FIXED_NOW, addMember, createTestDb, makeImage } from './sqlite-fixture.js';
import type { TestDb } from './sqlite-fixture.js';
import { testEngines } from './test-engines.js';

const ADMIN_ALL: ListScope = { project: null, isAdmin: true, visibility: 'all', memberStatus: 'accepted' };

function query(scope: ListScope, extra: Partial<ListQuery> = {}): ListQuery {
  return { scope, filters: {}, sort: [], limit: 1000, ...extra };
}

function sortedIds(images: readonly Image[]): string[] {
  return images.map((i) => i.id).sort();
}

for (const engine of await testEngines()) {
  describe(`image repository on ${engine.name}`, { skip: engine.skip }, () => {
    // ------------------------------------------------------------- CRUD --

    describe('add / get / save / remove', () => {
      let t: TestDb;
      before(async () => {
        t = await createTestDb(engine.server);
      });
      after(async () => {
        await t.cleanup();
      });

      test('round-trips every field, properties, tags in order and locations', async () => {
        const image = makeImage({
          name: 'cirros',
          status: 'active',
          visibility: 'public',
          protected: true,
          os_hidden: true,
          checksum: 'c'.repeat(32),
          os_hash_algo: 'sha512',
          os_hash_value: 'f'.repeat(128),
          size: 13_287_936,
          virtual_size: 117_440_512,
          disk_format: 'qcow2',
          container_format: 'bare',
          min_ram: 512,
          min_disk: 1,
          created_at: new Date('2024-03-04T05:06:07.891Z'),
          updated_at: new Date('2024-03-04T05:06:08.123Z'),
          tags: ['zeta', 'alpha', 'mid'],
          properties: { os_distro: 'cirros', hw_disk_bus: 'virtio', empty: '' },
          locations: [
            { url: 'file:///var/lib/iris/images/a', metadata: { store: 'file', nested: { n: 1 } }, status: 'active' },
            { url: 'file:///var/lib/iris/images/b', metadata: {}, status: 'pending_delete' },
          ],
        });
        await t.repo.add(image);
        const got = await t.repo.get(image.id);
        assert.deepEqual(got, image);
      });

      test('get of an unknown id is null', async () => {
        assert.equal(await t.repo.get('does-not-exist'), null);
      });

      test('add with an existing id is a Conflict', async () => {
        const image = makeImage();
        await t.repo.add(image);
        await assert.rejects(t.repo.add(makeImage({ id: image.id })), Conflict);
      });

      test('a removed id cannot be reused (Glance answers 409)', async () => {
        const image = makeImage({ tags: ['t'], properties: { p: 'v' } });
        await t.repo.add(image);
        await t.repo.remove(image.id);
        await assert.rejects(t.repo.add(makeImage({ id: image.id })), Conflict);
      });

      test('remove soft-deletes: hidden from get, visible with includeDeleted', async () => {
        const image = makeImage({
          status: 'active',
          tags: ['t'],
          properties: { p: 'v' },
          locations: [{ url: 'file:///x', metadata: {}, status: 'active' }],
        });
        await t.repo.add(image);
        await t.repo.remove(image.id);
        assert.equal(await t.repo.get(image.id), null);
        const deleted = await t.repo.get(image.id, { includeDeleted: true });
        assert.ok(deleted);
        assert.equal(deleted.status, 'deleted');
        assert.deepEqual(deleted.updated_at, FIXED_NOW);
        assert.deepEqual(deleted.tags, []);
        assert.deepEqual(deleted.properties, {});
        assert.deepEqual(deleted.locations, [{ url: 'file:///x', metadata: {}, status: 'deleted' }]);
        const row = await t.db.selectFrom('images').selectAll().where('id', '=', image.id).executeTakeFirstOrThrow();
        assert.equal(row.deleted, 1);
        assert.equal(row.deleted_at, FIXED_NOW.getTime());
      });

      test('remove of an unknown or already removed image is NotFound', async () => {
        await assert.rejects(t.repo.remove('nope'), NotFound);
        const image = makeImage();
        await t.repo.add(image);
        await t.repo.remove(image.id);
        await assert.rejects(t.repo.remove(image.id), NotFound);
      });

      test('remove soft-deletes the memberships', async () => {
        const image = makeImage();
        await t.repo.add(image);
        await addMember(t.db, image.id, 'project-b', 'accepted');
        await t.repo.remove(image.id);
        assert.equal(await t.repo.memberStatus(image.id, 'project-b'), null);
      });

      test('save writes every field and replaces properties, tags and locations', async () => {
        const image = makeImage({
          tags: ['a', 'b'],
          properties: { keep: '1', drop: '2' },
          locations: [{ url: 'file:///old', metadata: {}, status: 'active' }],
        });
        await t.repo.add(image);
        const changed: Image = {
          ...image,
          name: 'renamed',
          status: 'active',
          size: 42,
          checksum: 'abc',
          min_ram: 7,
          updated_at: new Date('2025-01-01T00:00:00.000Z'),
          tags: ['c', 'a'],
          properties: { keep: '1', added: '3' },
          locations: [{ url: 'file:///new', metadata: { k: 'v' }, status: 'active' }],
        };
        await t.repo.save(changed, { fromStatus: 'queued' });
        assert.deepEqual(await t.repo.get(image.id), changed);
      });

      test('save is compare-and-swap on status: a stale fromStatus is a Conflict and writes nothing', async () => {
        const image = makeImage({ status: 'queued', tags: ['orig'] });
        await t.repo.add(image);
        await t.repo.save({ ...image, status: 'saving' }, { fromStatus: 'queued' });
        // A second writer that still believes the image is queued loses.
        await assert.rejects(
          t.repo.save({ ...image, status: 'active', tags: ['lost'] }, { fromStatus: 'queued' }),
          (err: unknown) => err instanceof Conflict && /from_state=queued/.test(err.message),
        );
        const stored = await t.repo.get(image.id);
        assert.equal(stored?.status, 'saving');
        assert.deepEqual(stored?.tags, ['orig']);
      });

      test('save without fromStatus compares with the image status', async () => {
        const image = makeImage({ status: 'queued' });
        await t.repo.add(image);
        await t.repo.save({ ...image, name: 'x' });
        await assert.rejects(t.repo.save({ ...image, status: 'active' }), Conflict);
      });

      test('save of an unknown or removed image is NotFound', async () => {
        await assert.rejects(t.repo.save(makeImage()), NotFound);
        const image = makeImage();
        await t.repo.add(image);
        await t.repo.remove(image.id);
        await assert.rejects(t.repo.save(image, { fromStatus: 'deleted' }), NotFound);
      });

      test('duplicate tags collapse to one', async () => {
        const image = makeImage({ tags: ['x', 'y', 'x'] });
        await t.repo.add(image);
        assert.deepEqual((await t.repo.get(image.id))?.tags, ['x', 'y']);
      });
    });

    describe('resetSaving / transfer leases / usedStorage / memberStatus', () => {
      let t: TestDb;
      before(async () => {
        t = await createTestDb(engine.server);
      });
      after(async () => {
        await t.cleanup();
      });

      test('resetSaving returns only abandoned uploads to queued: gone owner, ended lease, or unleased and stale', async () => {
        const minute = 60_000;
        const at = (ms: number) => new Date(FIXED_NOW.getTime() + ms);
        const old = at(-10 * minute);
        const image = (updated_at: Date) => makeImage({ status: 'saving', updated_at });
        const [goneOwner, live, ended, unleasedOld, unleasedNew, removed] = [old, old, old, old, at(-minute), old].map(image);
        const active = makeImage({ status: 'active', updated_at: old });
        for (const i of [goneOwner!, live!, ended!, unleasedOld!, unleasedNew!, removed!, active]) await t.repo.add(i);
        assert.equal(await t.repo.holdTransfer(goneOwner!.id, 'saving', { owner: 'n-1', expires_at: at(minute) }), true);
        assert.equal(await t.repo.holdTransfer(live!.id, 'saving', { owner: 'n-2', expires_at: at(minute) }), true);
        assert.equal(await t.repo.holdTransfer(ended!.id, 'saving', { owner: 'n-3', expires_at: at(-minute) }), true);
        assert.equal(await t.repo.holdTransfer(active.id, 'saving', { owner: 'n-4', expires_at: at(minute) }), false, 'not saving');
        await t.repo.remove(removed!.id);
        assert.deepEqual(await t.repo.transferOwners(), ['n-1', 'n-2', 'n-3']);

        const which = { owners: ['n-1'], leaseEndedBy: FIXED_NOW, unleasedBefore: at(-5 * minute) };
        const expected = [goneOwner!.id, ended!.id, unleasedOld!.id].sort();
        assert.deepEqual(await t.repo.abandonedTransfers('saving', which), expected);
        assert.deepEqual(await t.repo.abandonedTransfers('uploading', which), []);
        assert.deepEqual((await t.repo.resetSaving(which)).sort(), expected);
        assert.equal((await t.repo.get(goneOwner!.id))?.status, 'queued');
        assert.deepEqual((await t.repo.get(goneOwner!.id))?.updated_at, FIXED_NOW);
        for (const kept of [live!, unleasedNew!]) assert.equal((await t.repo.get(kept.id))?.status, 'saving');
        assert.equal((await t.repo.get(active.id))?.status, 'active');
        assert.deepEqual(await t.repo.transferOwners(), ['n-2'], 'a reset clears the lease');
        assert.deepEqual(await t.repo.resetSaving(which), []);
      });

      test('a transfer lease holds only in its status; a status change clears it', async () => {
        const queued = makeImage({ status: 'queued' });
        await t.repo.add(queued);
        const lease = { owner: 'n-9', expires_at: new Date(FIXED_NOW.getTime() + 60_000) };
        assert.equal(await t.repo.holdTransfer(queued.id, 'saving', lease), false);
        const saving = { ...queued, status: 'saving' as const };
        // The status change that starts the transfer records its lease in the same statement.
        await t.repo.save(saving, { fromStatus: 'queued', lease });
        assert.ok((await t.repo.transferOwners()).includes('n-9'));
        assert.equal(await t.repo.holdTransfer(queued.id, 'saving', lease), true);
        await t.repo.save({ ...saving, name: 'renamed' });
        assert.ok((await t.repo.transferOwners()).includes('n-9'), 'a save in the same status keeps the lease');
        await t.repo.save({ ...saving, status: 'queued' }, { fromStatus: 'saving' });
        assert.ok(!(await t.repo.transferOwners()).includes('n-9'), 'leaving saving ends the lease');
        assert.equal(await t.repo.holdTransfer(queued.id, 'saving', lease), false);
      });

      test('withStatus lists the live images in one status, with their properties', async () => {
        const a = makeImage({ status: 'uploading', properties: { k: 'v' } });
        const b = makeImage({ status: 'uploading' });
        const other = makeImage({ status: 'queued' });
        const gone = makeImage({ status: 'uploading' });
        for (const i of [a, b, other, gone]) await t.repo.add(i);
        await t.repo.remove(gone.id);
        const found = await t.repo.withStatus('uploading');
        assert.deepEqual(found.map((i) => i.id), [a.id, b.id].sort());
        assert.deepEqual(found.find((i) => i.id === a.id)?.properties, { k: 'v' });
      });

      test('usedStorage sums size per live location, like Glance', async () => {
        const loc = (url: string, status: 'active' | 'pending_delete' | 'deleted' = 'active') => ({
          url,
          metadata: {},
          status,
        });
        const owner = 'quota-owner';
        await t.repo.add(makeImage({ owner, status: 'active', size: 100, locations: [loc('a')] }));
        await t.repo.add(makeImage({ owner, status: 'active', size: 10, locations: [loc('b'), loc('c')] }));
        await t.repo.add(makeImage({ owner, status: 'active', size: 1, locations: [loc('d', 'deleted')] }));
        await t.repo.add(makeImage({ owner, status: 'queued', size: 5, locations: [] }));
        await t.repo.add(makeImage({ owner, status: 'killed', size: 1000, locations: [loc('e')] }));
        await t.repo.add(makeImage({ owner: 'someone-else', status: 'active', size: 7, locations: [loc('f')] }));
        const removed = makeImage({ owner, status: 'active', size: 2000, locations: [loc('g')] });
        await t.repo.add(removed);
        await t.repo.remove(removed.id);
        assert.equal(await t.repo.usedStorage(owner), 120);
        assert.equal(await t.repo.usedStorage('nobody'), 0);
      });

      test('memberStatus reads live memberships only', async () => {
        const image = makeImage();
        await t.repo.add(image);
        await addMember(t.db, image.id, 'p-accepted', 'accepted');
        await addMember(t.db, image.id, 'p-pending', 'pending');
        await addMember(t.db, image.id, 'p-gone', 'accepted', { deleted: true });
        assert.equal(await t.repo.memberStatus(image.id, 'p-accepted'), 'accepted');
        assert.equal(await t.repo.memberStatus(image.id, 'p-pending'), 'pending');
        assert.equal(await t.repo.memberStatus(image.id, 'p-gone'), null);
        assert.equal(await t.repo.memberStatus(image.id, 'stranger'), null);
      });

      test('one live membership per (image, member); deleted ones may repeat', async () => {
        const image = makeImage();
        await t.repo.add(image);
        await addMember(t.db, image.id, 'm', 'accepted', { deleted: true });
        await addMember(t.db, image.id, 'm', 'rejected', { deleted: true });
        await addMember(t.db, image.id, 'm', 'pending');
        await assert.rejects(addMember(t.db, image.id, 'm', 'accepted'));
      });
    });

    // ----------------------------------------------------------- filters --

    describe('list filters', () => {
      let t: TestDb;
      const f1 = makeImage({
        name: 'ubuntu',
        status: 'active',
        visibility: 'public',
        owner: 'A',
        disk_format: 'raw',
        container_format: 'bare',
        size: 100,
        protected: true,
        tags: ['x', 'y'],
        properties: { os_distro: 'ubuntu', arch: 'x86_64' },
        created_at: new Date('2024-01-01T00:00:00.000Z'),
        updated_at: new Date('2024-02-01T00:00:00.000Z'),
      });
      const f2 = makeImage({
        name: 'fedora',
        status: 'queued',
        visibility: 'private',
        owner: 'B',
        disk_format: 'qcow2',
        container_format: 'ovf',
        size: null,
        tags: ['x'],
        properties: { os_distro: 'fedora' },
        created_at: new Date('2024-01-02T00:00:00.000Z'),
        updated_at: new Date('2024-02-02T00:00:00.000Z'),
      });
      const f3 = makeImage({
        name: 'debian',
        status: 'active',
        visibility: 'public',
        owner: 'A',
        disk_format: 'iso',
        container_format: 'bare',
        size: 1000,
        created_at: new Date('2024-01-03T00:00:00.000Z'),
        updated_at: new Date('2024-02-03T00:00:00.000Z'),
      });
      const hidden = makeImage({ name: 'hidden', visibility: 'public', os_hidden: true, status: 'active' });
      const killed = makeImage({ name: 'killed', visibility: 'public', status: 'killed' });

      before(async () => {
        t = await createTestDb(engine.server);
        for (const i of [f1, f2, f3, hidden, killed]) await t.repo.add(i);
      });
      after(async () => {
        await t.cleanup();
      });

      const cases: [string, ImageFilters, Image[]][] = [
        ['no filter (hidden and killed excluded)', {}, [f1, f2, f3]],
        ['name eq', { name: { eq: 'ubuntu' } }, [f1]],
        ['name in', { name: { in: ['ubuntu', 'debian', 'nope'] } }, [f1, f3]],
        ['name in empty', { name: { in: [] } }, []],
        ['status eq', { status: { eq: 'active' } }, [f1, f3]],
        ['status in', { status: { in: ['queued'] } }, [f2]],
        ['status killed: never listed (Glance v2 index)', { status: { eq: 'killed' } }, []],
        ['id eq', { id: { eq: f2.id } }, [f2]],
        ['id in', { id: { in: [f1.id, f3.id] } }, [f1, f3]],
        ['owner eq', { owner: { eq: 'A' } }, [f1, f3]],
        ['owner in', { owner: { in: ['B', 'C'] } }, [f2]],
        ['disk_format in', { disk_format: { in: ['raw', 'iso'] } }, [f1, f3]],
        ['disk_format eq', { disk_format: { eq: 'qcow2' } }, [f2]],
        ['container_format eq', { container_format: { eq: 'ovf' } }, [f2]],
        ['container_format in', { container_format: { in: ['bare'] } }, [f1, f3]],
        ['one tag', { tags: ['x'] }, [f1, f2]],
        ['every tag must be present', { tags: ['x', 'y'] }, [f1]],
        ['unknown tag', { tags: ['z'] }, []],
        ['size_min', { size_min: 100 }, [f1, f3]],
        ['size_max', { size_max: 100 }, [f1]],
        ['size range (NULL size never matches)', { size_min: 101, size_max: 1000 }, [f3]],
        ['protected true', { protected: true }, [f1]],
        ['protected false', { protected: false }, [f2, f3]],
        ['os_hidden true', { os_hidden: true }, [hidden]],
        ['os_hidden false', { os_hidden: false }, [f1, f2, f3]],
        ['created_at gt', { created_at: [{ op: 'gt', value: f1.created_at }] }, [f2, f3]],
        ['created_at gte', { created_at: [{ op: 'gte', value: f1.created_at }] }, [f1, f2, f3]],
        ['created_at lt', { created_at: [{ op: 'lt', value: f2.created_at }] }, [f1]],
        ['created_at lte', { created_at: [{ op: 'lte', value: f2.created_at }] }, [f1, f2]],
        ['created_at eq', { created_at: [{ op: 'eq', value: f2.created_at }] }, [f2]],
        ['created_at neq', { created_at: [{ op: 'neq', value: f2.created_at }] }, [f1, f3]],
        [
          'created_at range',
          {
            created_at: [
              { op: 'gt', value: f1.created_at },
              { op: 'lt', value: f3.created_at },
            ],
          },
          [f2],
        ],
        ['created_at with milliseconds', { created_at: [{ op: 'gt', value: new Date(f3.created_at.getTime() - 1) }] }, [f3]],
        ['updated_at gte', { updated_at: [{ op: 'gte', value: f2.updated_at }] }, [f2, f3]],
        ['updated_at lt', { updated_at: [{ op: 'lt', value: f2.updated_at }] }, [f1]],
        ['property', { properties: { os_distro: 'ubuntu' } }, [f1]],
        ['several properties', { properties: { os_distro: 'ubuntu', arch: 'x86_64' } }, [f1]],
        ['property mismatch', { properties: { os_distro: 'ubuntu', arch: 'arm' } }, []],
        ['unknown property', { properties: { nope: 'x' } }, []],
        ['combined', { status: { eq: 'active' }, tags: ['x'], size_min: 1 }, [f1]],
      ];
      for (const [name, filters, expected] of cases) {
        test(name, async () => {
          const got = await t.repo.list(query(ADMIN_ALL, { filters }));
          assert.deepEqual(sortedIds(got), sortedIds(expected));
        });
      }
    });

    // -------------------------------------------------------- visibility --

    describe('list visibility scopes (Glance image_get_all)', () => {
      let t: TestDb;
      const image = (key: string, overrides: Partial<Image>): Image => makeImage({ name: key, status: 'active', ...overrides });
      const img = {
        a_pub: image('a_pub', { owner: 'A', visibility: 'public' }),
        a_priv: image('a_priv', { owner: 'A', visibility: 'private' }),
        a_shared_acc: image('a_shared_acc', { owner: 'A', visibility: 'shared' }), // B accepted, C pending
        a_shared_pend: image('a_shared_pend', { owner: 'A', visibility: 'shared' }), // B pending
        a_shared_rej: image('a_shared_rej', { owner: 'A', visibility: 'shared' }), // B rejected
        a_shared_gone: image('a_shared_gone', { owner: 'A', visibility: 'shared' }), // B accepted, membership deleted
        a_private_member: image('a_private_member', { owner: 'A', visibility: 'private' }), // B accepted, but not shared
        a_comm: image('a_comm', { owner: 'A', visibility: 'community' }),
        b_priv: image('b_priv', { owner: 'B', visibility: 'private' }),
        b_comm: image('b_comm', { owner: 'B', visibility: 'community' }),
        b_shared: image('b_shared', { owner: 'B', visibility: 'shared' }), // A accepted
        ownerless: image('ownerless', { owner: null, visibility: 'private' }),
        a_pub_hidden: image('a_pub_hidden', { owner: 'A', visibility: 'public', os_hidden: true }),
        a_killed: image('a_killed', { owner: 'A', visibility: 'public', status: 'killed' }),
        a_removed: image('a_removed', { owner: 'A', visibility: 'public' }),
      };
      type Key = keyof typeof img;

      before(async () => {
        t = await createTestDb(engine.server);
        for (const i of Object.values(img)) await t.repo.add(i);
        await addMember(t.db, img.a_shared_acc.id, 'B', 'accepted');
        await addMember(t.db, img.a_shared_acc.id, 'C', 'pending');
        await addMember(t.db, img.a_shared_pend.id, 'B', 'pending');
        await addMember(t.db, img.a_shared_rej.id, 'B', 'rejected');
        await addMember(t.db, img.a_shared_gone.id, 'B', 'accepted', { deleted: true });
        await addMember(t.db, img.a_private_member.id, 'B', 'accepted');
        await addMember(t.db, img.b_shared.id, 'A', 'accepted');
        await t.repo.remove(img.a_removed.id);
      });
      after(async () => {
        await t.cleanup();
      });

      const user = (project: string | null, visibility?: ListScope['visibility'], memberStatus: ListScope['memberStatus'] = 'accepted'): ListScope => ({
        project,
        isAdmin: false,
        visibility,
        memberStatus,
      });
      const admin = (project: string | null, visibility?: ListScope['visibility']): ListScope => ({
        project,
        isAdmin: true,
        visibility,
        memberStatus: 'accepted',
      });

      const cases: [string, ListScope, Key[]][] = [
        ['B default: public, own (incl. own community), accepted shares', user('B'), ['a_pub', 'a_shared_acc', 'b_priv', 'b_comm', 'b_shared']],
        ['B default, member_status=pending', user('B', undefined, 'pending'), ['a_pub', 'a_shared_pend', 'b_priv', 'b_comm', 'b_shared']],
        ['B default, member_status=rejected', user('B', undefined, 'rejected'), ['a_pub', 'a_shared_rej', 'b_priv', 'b_comm', 'b_shared']],
        [
          'B default, member_status=all',
          user('B', undefined, 'all'),
          ['a_pub', 'a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'b_priv', 'b_comm', 'b_shared'],
        ],
        ['B community: every community image', user('B', 'community'), ['a_comm', 'b_comm']],
        ['B public', user('B', 'public'), ['a_pub']],
        ['B private: own private only', user('B', 'private'), ['b_priv']],
        ['B shared: own shared + accepted shares', user('B', 'shared'), ['a_shared_acc', 'b_shared']],
        ['B shared, member_status=pending', user('B', 'shared', 'pending'), ['a_shared_pend', 'b_shared']],
        ['B shared, member_status=all', user('B', 'shared', 'all'), ['a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'b_shared']],
        ['B all: default plus every community image', user('B', 'all'), ['a_pub', 'a_comm', 'a_shared_acc', 'b_priv', 'b_comm', 'b_shared']],
        ['C default: pending share not listed', user('C'), ['a_pub']],
        ['C default, member_status=pending', user('C', undefined, 'pending'), ['a_pub', 'a_shared_acc']],
        [
          'A default: own images and accepted shares',
          user('A'),
          ['a_pub', 'a_priv', 'a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'a_shared_gone', 'a_private_member', 'a_comm', 'b_shared'],
        ],
        ['stranger default: public only', user('Z'), ['a_pub']],
        ['anonymous default', user(null), ['a_pub']],
        ['anonymous all', user(null, 'all'), ['a_pub', 'a_comm', 'b_comm']],
        ['anonymous community', user(null, 'community'), ['a_comm', 'b_comm']],
        ['anonymous private', user(null, 'private'), []],
        ['anonymous shared (no member leak)', user(null, 'shared', 'all'), []],
        [
          'admin of A, default: everything but community images of others',
          admin('A'),
          ['a_pub', 'a_priv', 'a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'a_shared_gone', 'a_private_member', 'a_comm', 'b_priv', 'b_shared', 'ownerless'],
        ],
        [
          'admin without project, default: everything but community images',
          admin(null),
          ['a_pub', 'a_priv', 'a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'a_shared_gone', 'a_private_member', 'b_priv', 'b_shared', 'ownerless'],
        ],
        [
          'admin all: everything',
          admin('A', 'all'),
          ['a_pub', 'a_priv', 'a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'a_shared_gone', 'a_private_member', 'a_comm', 'b_priv', 'b_comm', 'b_shared', 'ownerless'],
        ],
        ['admin private: a column filter', admin('A', 'private'), ['a_priv', 'a_private_member', 'b_priv', 'ownerless']],
        ['admin community', admin(null, 'community'), ['a_comm', 'b_comm']],
        ['admin shared', admin('Z', 'shared'), ['a_shared_acc', 'a_shared_pend', 'a_shared_rej', 'a_shared_gone', 'b_shared']],
      ];
      for (const [name, scope, expected] of cases) {
        test(name, async () => {
          const got = await t.repo.list(query(scope));
          assert.deepEqual(sortedIds(got), sortedIds(expected.map((k) => img[k])));
        });
      }

      test('os_hidden=true lists hidden images in scope', async () => {
        const got = await t.repo.list(query(user('A'), { filters: { os_hidden: true } }));
        assert.deepEqual(sortedIds(got), [img.a_pub_hidden.id]);
      });

      test('a marker must be visible (Glance is_image_visible), otherwise Invalid', async () => {
        const listB = (marker: string, scope = user('B')) => t.repo.list(query(scope, { marker }));
        await assert.rejects(listB('no-such-image'), (e: unknown) => e instanceof Invalid && e.message === 'No image found with ID no-such-image');
        await assert.rejects(listB(img.a_priv.id), Invalid);
        await assert.rejects(listB(img.a_shared_gone.id), Invalid);
        await assert.rejects(listB(img.b_priv.id, user(null)), Invalid);
        // Visible although not in the list scope: public, community, ownerless, any membership status.
        // A deleted image still marks a position (Glance continues after it, so paging survives a
        // delete between pages), when it was visible.
        for (const key of ['a_pub', 'a_comm', 'ownerless', 'a_shared_pend', 'a_shared_rej', 'a_pub_hidden', 'a_killed', 'a_removed'] as const) {
          await listB(img[key].id);
        }
        await t.repo.list(query(admin(null), { marker: img.b_priv.id }));
      });
    });

    // ---------------------------------------------------- sort and pages --

    type Term = { key: SortKey; dir: SortDir };

    /** Glance's full order: the keys, then created_at and id in the last key's direction. */
    function fullSort(sort: readonly Term[]): Term[] {
      const terms = sort.length === 0 ? [{ key: 'created_at' as SortKey, dir: 'desc' as SortDir }] : [...sort];
      const dir = terms[terms.length - 1]!.dir;
      if (!terms.some((s) => s.key === 'id')) {
        if (!terms.some((s) => s.key === 'created_at')) terms.push({ key: 'created_at', dir });
        terms.push({ key: 'id', dir });
      }
      return terms;
    }

    /** SQLite / MySQL order: NULL is the smallest value (first ascending, last descending). */
    function compareValues(a: unknown, b: unknown): number {
      const norm = (v: unknown) => (v instanceof Date ? v.getTime() : v);
      const x = norm(a);
      const y = norm(b);
      if (x === y) return 0;
      if (x === null) return -1;
      if (y === null) return 1;
      return (x as string | number) < (y as string | number) ? -1 : 1;
    }

    function referenceOrder(images: readonly Image[], sort: readonly Term[]): string[] {
      const terms = fullSort(sort);
      return [...images]
        .sort((a, b) => {
          for (const { key, dir } of terms) {
            const c = compareValues(a[key], b[key]);
            if (c !== 0) return dir === 'asc' ? c : -c;
          }
          return 0;
        })
        .map((i) => i.id);
    }

    describe('sorting and keyset pagination', () => {
      let t: TestDb;
      const images: Image[] = [];
      const names = ['alpha', 'beta', null, '', 'Gamma', 'beta'];
      const sizes = [null, 0, 10, 10, 20, null, 5];
      const disks = [null, 'raw', 'qcow2'];
      const containers = ['bare', null];
      const statuses = ['active', 'queued', 'active', 'saving'] as const;
      for (let i = 0; i < 53; i += 1) {
        images.push(
          makeImage({
            // Not in id order, so id ties are really exercised.
            id: `img-${String((i * 37) % 53).padStart(2, '0')}`,
            owner: i % 3 === 0 ? 'pager' : 'other',
            visibility: i % 3 === 0 ? 'private' : i % 3 === 1 ? 'public' : 'shared',
            name: names[i % names.length],
            size: sizes[i % sizes.length],
            disk_format: disks[i % disks.length],
            container_format: containers[i % containers.length],
            status: statuses[i % statuses.length],
            // Only 8 distinct creation times: many (created_at, …) ties.
            created_at: new Date(Date.UTC(2024, 0, 1 + (i % 8))),
            updated_at: new Date(Date.UTC(2024, 1, 1, 0, 0, i % 5)),
          }),
        );
      }
      // Visible to 'pager': its own, the public ones, and the shared ones it accepted.
      const visibleToPager = images.filter((i) => i.visibility !== 'shared' || i.owner === 'pager' || i.id.endsWith('1') || i.id.endsWith('3'));
      const pagerScope: ListScope = { project: 'pager', isAdmin: false, memberStatus: 'accepted' };

      before(async () => {
        t = await createTestDb(engine.server);
        for (const i of images) await t.repo.add(i);
        for (const i of images) {
          if (i.visibility === 'shared' && i.owner !== 'pager') {
            const accepted = i.id.endsWith('1') || i.id.endsWith('3');
            await addMember(t.db, i.id, 'pager', accepted ? 'accepted' : 'pending');
          }
        }
      });
      after(async () => {
        await t.cleanup();
      });

      for (const key of SORT_KEYS) {
        for (const dir of ['asc', 'desc'] as const) {
          test(`sort ${key}:${dir} (NULLs first ascending, last descending)`, async () => {
            const got = await t.repo.list(query(ADMIN_ALL, { sort: [{ key, dir }] }));
            assert.deepEqual(
              got.map((i) => i.id),
              referenceOrder(images, [{ key, dir }]),
            );
          });
        }
      }

      const sorts: Term[][] = [
        [],
        [{ key: 'name', dir: 'asc' }],
        [{ key: 'name', dir: 'desc' }],
        [{ key: 'size', dir: 'asc' }],
        [{ key: 'size', dir: 'desc' }],
        [{ key: 'disk_format', dir: 'desc' }],
        [{ key: 'container_format', dir: 'asc' }],
        [{ key: 'status', dir: 'asc' }],
        [{ key: 'updated_at', dir: 'desc' }],
        [{ key: 'created_at', dir: 'asc' }],
        [{ key: 'id', dir: 'asc' }],
        [
          { key: 'name', dir: 'asc' },
          { key: 'size', dir: 'desc' },
        ],
        [
          { key: 'size', dir: 'desc' },
          { key: 'name', dir: 'asc' },
        ],
        [
          { key: 'status', dir: 'desc' },
          { key: 'disk_format', dir: 'asc' },
          { key: 'updated_at', dir: 'asc' },
        ],
      ];
      const scopes: [string, ListScope, () => Image[]][] = [
        ['admin', ADMIN_ALL, () => images],
        ['project', pagerScope, () => visibleToPager],
      ];

      for (const sort of sorts) {
        for (const [scopeName, scope, expectedImages] of scopes) {
          const label = sort.map((s) => `${s.key}:${s.dir}`).join(',') || 'default';
          test(`pages of ${label} as ${scopeName} walk the full sorted list`, async () => {
            const full = (await t.repo.list(query(scope, { sort }))).map((i) => i.id);
            assert.deepEqual(full, referenceOrder(expectedImages(), sort));
            for (const limit of [1, 7]) {
              const walked: string[] = [];
              let marker: string | undefined;
              for (let pages = 0; pages < 100; pages += 1) {
                const page = await t.repo.list(query(scope, { sort, limit, marker }));
                walked.push(...page.map((i) => i.id));
                if (page.length < limit) break;
                marker = page[page.length - 1]!.id; // page.length >= limit >= 1
              }
              assert.deepEqual(walked, full, `limit ${limit}`);
            }
          });
        }
      }

      test('limit 0 is an empty page', async () => {
        assert.deepEqual(await t.repo.list(query(ADMIN_ALL, { limit: 0 })), []);
      });

      test('a page loads properties and tags of every image', async () => {
        const { db, repo } = t;
        const id = images[0]!.id; // 53 images, made above
        await db.insertInto('image_tags').values({ image_id: id, value: 'tagged', position: 0 }).execute();
        await db.insertInto('image_properties').values({ image_id: id, name: 'k', value: 'v' }).execute();
        const page = await repo.list(query(ADMIN_ALL, { filters: { tags: ['tagged'] } }));
        assert.equal(page.length, 1);
        assert.deepEqual(page[0]!.tags, ['tagged']);
        assert.deepEqual(page[0]!.properties, { k: 'v' });
      });
    });
  });
}
