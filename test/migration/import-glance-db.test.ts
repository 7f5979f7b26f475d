/**
 * iris-manage import-glance-db against Glance's real schema (made by glance-manage db_sync),
 * filled by hand with the edge cases the API cannot produce: 4-byte UTF-8 text, every member
 * status, locations of stores Iris does not have, soft-deleted rows. Checks what lands in Iris
 * through Iris's repositories, the report, re-runs, --dry-run and --merge.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { ImageRepository, MemberRepository, TaskRepository } from '../../src/domain/ports.js';
import type { Schema } from '../../src/persistence/schema.js';
import type { SqlEngine } from '../../src/persistence/sql-engine.js';
import { startMariadb } from '../helpers/mariadb-server.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startOrSkip } from '../helpers/sql-server.js';
import { runManage } from '../../src/cli/iris-manage.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import { createMemberRepository } from '../../src/persistence/member-repository.js';
import { createTaskRepository } from '../../src/persistence/task-repository.js';
import { haveGlanceManage, makeGlanceSqlite, type GlanceFixture } from './glance-fixture.js';

const skip = !haveGlanceManage() && 'glance-manage (Debian glance-common) is not installed';

const IMG_ACTIVE = '11111111-1111-4111-8111-111111111111';
const IMG_DELETED = '22222222-2222-4222-8222-222222222222';
const IMG_SWIFT = '33333333-3333-4333-8333-333333333333';
const IMG_QUEUED = '44444444-4444-4444-8444-444444444444';
const IMG_DEACTIVATED = '55555555-5555-4555-8555-555555555555';
const IMG_UPLOADING = '88888888-8888-4888-8888-888888888888';
const TASK_OK = '66666666-6666-4666-8666-666666666666';
const TASK_DELETED = '77777777-7777-4777-8777-777777777777';

interface Env {
  readonly dir: string;
  readonly storeDir: string;
  readonly irisPath: string;
  readonly glance: GlanceFixture;
  run(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  /** Writes iris.conf with this [database] connection (default: iris.sqlite in the temp dir). */
  useDatabase(connection: string): Promise<void>;
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'import-glance-'));
  const storeDir = join(dir, 'images', 'local');
  const irisPath = join(dir, 'iris.sqlite');
  const useDatabase = (connection: string) =>
    writeFile(
      join(dir, 'iris.conf'),
      `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${storeDir}\n` +
        `[database]\nconnection = ${connection}\n`,
    );
  await useDatabase(`sqlite:///${irisPath}`);
  const glance = makeGlanceSqlite(dir);
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await runManage(['--config-file', join(dir, 'iris.conf'), 'import-glance-db', ...args], {
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
      env: {},
      cwd: dir,
    });
    return { code, out, err };
  };
  try {
    await fn({ dir, storeDir, irisPath, glance, run, useDatabase });
  } finally {
    glance.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The edge-case database every test starts from. */
function fill(env: Env): void {
  const { glance, storeDir } = env;
  glance.addImage({
    id: IMG_ACTIVE,
    name: 'cirros 🐱',
    status: 'active',
    visibility: 'shared',
    size: 5,
    virtual_size: 5,
    checksum: 'c'.repeat(32),
    os_hash_algo: 'sha512',
    os_hash_value: 'a'.repeat(128),
    disk_format: 'raw',
    container_format: 'bare',
    min_disk: 1,
    min_ram: 64,
    protected: true,
    os_hidden: true,
    updated_at: '2026-01-03 00:00:00',
  });
  glance.addProperty(IMG_ACTIVE, 'os_distro', 'cirros');
  glance.addProperty(IMG_ACTIVE, 'emoji', '😀 4-byte 𝄞');
  glance.addProperty(IMG_ACTIVE, 'old', 'gone', true);
  glance.addProperty(IMG_ACTIVE, 'nullish', null);
  glance.addTag(IMG_ACTIVE, 'b-tag');
  glance.addTag(IMG_ACTIVE, 'a-tag');
  glance.addTag(IMG_ACTIVE, 'removed', true);
  glance.addLocation(IMG_ACTIVE, `file://${storeDir}/${IMG_ACTIVE}`, '{"store": "local"}');
  mkdirSync(storeDir, { recursive: true });
  writeFileSync(join(storeDir, IMG_ACTIVE), 'hello');
  glance.addLocation(IMG_ACTIVE, `file://${storeDir}/old-copy`, '{}', { deleted: true });
  glance.addMember(IMG_ACTIVE, 'p2', 'accepted', { canShare: true });
  glance.addMember(IMG_ACTIVE, 'p3', 'pending');
  glance.addMember(IMG_ACTIVE, 'p4', 'rejected');
  glance.addMember(IMG_ACTIVE, 'p5', 'accepted', { deleted: true });

  glance.addImage({ id: IMG_DELETED, name: 'deleted', status: 'deleted', deleted: true, visibility: 'public' });
  glance.addLocation(IMG_DELETED, `file://${storeDir}/${IMG_DELETED}`, '{}', { status: 'deleted', deleted: true });

  glance.addImage({ id: IMG_SWIFT, name: 'in swift', status: 'active', visibility: 'community', owner: null, size: 3, disk_format: 'qcow2', container_format: 'bare' });
  glance.addLocation(IMG_SWIFT, 'swift+https://keystone/v3/glance/' + IMG_SWIFT, '{"store": "swift1"}');
  glance.addLocation(IMG_SWIFT, 'rbd://fsid/images/' + IMG_SWIFT + '/snap', '{"store": "ceph"}');
  glance.addLocation(IMG_SWIFT, `file:///elsewhere/${IMG_SWIFT}`, 'not json');

  glance.addImage({ id: IMG_QUEUED, name: null, status: 'queued', visibility: 'private' });
  glance.addImage({ id: IMG_DEACTIVATED, name: 'off', status: 'deactivated', visibility: 'public', size: 1, disk_format: 'raw', container_format: 'bare' });
  glance.addLocation(IMG_DEACTIVATED, `file://${storeDir}/${IMG_DEACTIVATED}`, '{}');

  glance.addImage({ id: IMG_UPLOADING, name: 'staged', status: 'uploading', disk_format: 'raw', container_format: 'bare' });

  glance.addTask({ id: TASK_OK, type: 'api_image_import', status: 'success', owner: 'p1', image_id: IMG_ACTIVE, result: '{"image_id": "x"}', message: 'done' });
  glance.addTask({ id: TASK_DELETED, type: 'import', status: 'failure', owner: 'p1', deleted: true });
}

async function withIris<T>(path: string, fn: (repos: Repos) => Promise<T>): Promise<T> {
  const database = path.includes('://') ? openDatabase({ url: path }) : openDatabase({ sqlitePath: path });
  const { db, engine, close } = database;
  try {
    return await fn(repos(db, engine));
  } finally {
    await close();
  }
}

interface Repos {
  readonly db: Kysely<Schema>;
  readonly images: ImageRepository;
  readonly members: MemberRepository;
  readonly tasks: TaskRepository;
}

function repos(db: Kysely<Schema>, engine: SqlEngine): Repos {
  return {
    db,
    images: createImageRepository(db, { engine }),
    members: createMemberRepository(db, { engine }),
    tasks: createTaskRepository(db, { engine }),
  };
}

test('every field, child row and verdict of a hand-built Glance database lands in Iris', { skip }, async () => {
  await withEnv(async (env) => {
    fill(env);
    const r = await env.run('--from', env.glance.url);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const lines = r.out.split('\n');
    assert.match(lines[0]!, /alembic revision wallaby_contract01/);
    assert.ok(lines.includes('images: 6 in Glance, 5 carried (added 5, updated 0, unchanged 0); 1 skipped: 1 deleted in Glance'), r.out);
    assert.ok(lines.includes('properties: 3 carried'), r.out);
    assert.ok(lines.includes('tags: 2 carried'), r.out);
    assert.ok(lines.includes('members: 3 carried (1 accepted, 1 pending, 1 rejected)'), r.out);
    assert.ok(
      lines.includes(
        "locations: 5 carried (2 served by Iris's stores in place, 1 with their store id set to Iris's, 1 with no file at their path); " +
          '3 carried but not servable: 1 locations in stores Iris does not have: swift; 1 locations in stores Iris does not have: rbd; ' +
          '1 locations with a file outside every configured filesystem store',
      ),
      r.out,
    );
    assert.ok(lines.includes('tasks: 2 in Glance, 1 carried (added 1, updated 0, unchanged 0); 1 skipped: 1 deleted in Glance'), r.out);
    assert.ok(lines.includes(`note: image ${IMG_ACTIVE}: member p2: can_share (a v1 attribute) not carried`), r.out);
    assert.ok(lines.includes(`note: image ${IMG_SWIFT}: location metadata was not a JSON object; carried as {}`), r.out);
    assert.ok(lines.includes(`note: image ${IMG_DEACTIVATED}: no file at ${env.storeDir}/${IMG_DEACTIVATED}`), r.out);
    assert.ok(lines.some((l) => l.startsWith('in flight: 1 image(s) in saving, uploading or importing;')), r.out);

    await withIris(env.irisPath, async ({ images, members, tasks }) => {
      const image = await images.get(IMG_ACTIVE);
      assert.ok(image);
      assert.deepEqual(
        { ...image, created_at: image.created_at.toISOString(), updated_at: image.updated_at.toISOString() },
        {
          id: IMG_ACTIVE,
          name: 'cirros 🐱',
          status: 'active',
          visibility: 'shared',
          protected: true,
          os_hidden: true,
          checksum: 'c'.repeat(32),
          os_hash_algo: 'sha512',
          os_hash_value: 'a'.repeat(128),
          owner: 'p1',
          size: 5,
          virtual_size: 5,
          disk_format: 'raw',
          container_format: 'bare',
          min_ram: 64,
          min_disk: 1,
          // Glance's microseconds are cut to Iris's milliseconds; updated_at had none.
          created_at: '2026-01-02T03:04:05.678Z',
          updated_at: '2026-01-03T00:00:00.000Z',
          tags: ['b-tag', 'a-tag'],
          properties: { os_distro: 'cirros', emoji: '😀 4-byte 𝄞', nullish: '' },
          locations: [{ url: `file://${env.storeDir}/${IMG_ACTIVE}`, metadata: { store: 'local' }, status: 'active' }],
        },
      );
      assert.deepEqual(
        (await members.list(IMG_ACTIVE)).map((m) => [m.member_id, m.status]),
        [
          ['p2', 'accepted'],
          ['p3', 'pending'],
          ['p4', 'rejected'],
        ],
      );
      assert.equal(await images.get(IMG_DELETED, { includeDeleted: true }), null, 'deleted images are not carried');
      const swift = await images.get(IMG_SWIFT);
      assert.equal(swift?.visibility, 'community');
      assert.equal(swift?.owner, null);
      assert.deepEqual(swift?.locations, [
        { url: 'swift+https://keystone/v3/glance/' + IMG_SWIFT, metadata: { store: 'swift1' }, status: 'active' },
        { url: 'rbd://fsid/images/' + IMG_SWIFT + '/snap', metadata: { store: 'ceph' }, status: 'active' },
        { url: `file:///elsewhere/${IMG_SWIFT}`, metadata: {}, status: 'active' },
      ]);
      const queued = await images.get(IMG_QUEUED);
      assert.deepEqual([queued?.status, queued?.name, queued?.visibility, queued?.locations], ['queued', null, 'private', []]);
      const off = await images.get(IMG_DEACTIVATED);
      // Glance left the store id out ({}); Iris runs with enabled_backends, so it names the store.
      assert.deepEqual([off?.status, off?.locations[0]?.metadata], ['deactivated', { store: 'local' }]);
      const task = await tasks.get(TASK_OK);
      assert.deepEqual(
        task && { ...task, created_at: task.created_at.toISOString(), updated_at: undefined },
        {
          id: TASK_OK,
          type: 'api_image_import',
          status: 'success',
          owner: 'p1',
          image_id: IMG_ACTIVE,
          request_id: 'req-1',
          user_id: 'u1',
          expires_at: null,
          created_at: '2026-01-02T03:04:05.678Z',
          updated_at: undefined,
          input: { image_id: 'x' },
          result: { image_id: 'x' },
          message: 'done',
        },
      );
      assert.equal(await tasks.get(TASK_DELETED), null);
    });
  });
});

test('a second run changes nothing and says unchanged; a later run carries what changed in Glance', { skip }, async () => {
  await withEnv(async (env) => {
    fill(env);
    assert.equal((await env.run('--from', env.glance.url)).code, 0);
    const snapshot = async () =>
      withIris(env.irisPath, async ({ db }) => ({
        images: await db.selectFrom('images').selectAll().orderBy('id').execute(),
        properties: await db.selectFrom('image_properties').selectAll().orderBy('image_id').orderBy('name').execute(),
        tags: await db.selectFrom('image_tags').selectAll().orderBy('image_id').orderBy('value').execute(),
        locations: await db.selectFrom('image_locations').selectAll().orderBy('id').execute(),
        members: await db.selectFrom('image_members').selectAll().orderBy('id').execute(),
        tasks: await db.selectFrom('tasks').selectAll().orderBy('id').execute(),
      }));
    const before = await snapshot();
    const again = await env.run('--from', env.glance.url);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /^images: 6 in Glance, 5 carried \(added 0, updated 0, unchanged 5\); 1 skipped: 1 deleted in Glance$/m);
    assert.match(again.out, /^tasks: 2 in Glance, 1 carried \(added 0, updated 0, unchanged 1\)/m);
    assert.deepEqual(await snapshot(), before, 'the second run wrote nothing');

    // Meanwhile in Glance: a membership is accepted, one removed, a property changed, an image deleted.
    env.glance.db.prepare("update image_members set status = 'accepted', updated_at = '2026-02-01 00:00:00' where member = 'p3'").run();
    env.glance.db.prepare("update image_members set deleted = 1, deleted_at = '2026-02-01 00:00:00' where member = 'p4'").run();
    env.glance.db.prepare("update image_properties set value = 'cirros2' where name = 'os_distro'").run();
    env.glance.db.prepare("update images set deleted = 1, status = 'deleted' where id = ?").run(IMG_QUEUED);
    const third = await env.run('--from', env.glance.url);
    assert.equal(third.code, 0, third.err);
    assert.match(
      third.out,
      /^images: 6 in Glance, 4 carried \(added 0, updated 1, unchanged 3\); 1 deleted in Iris \(deleted in Glance since an earlier import\); 2 skipped: 2 deleted in Glance$/m,
    );
    await withIris(env.irisPath, async ({ images, members }) => {
      assert.equal((await images.get(IMG_ACTIVE))?.properties.os_distro, 'cirros2');
      assert.deepEqual(
        (await members.list(IMG_ACTIVE)).map((m) => [m.member_id, m.status]),
        [
          ['p2', 'accepted'],
          ['p3', 'accepted'],
        ],
      );
      assert.equal(await images.get(IMG_QUEUED), null);
      assert.equal((await images.get(IMG_QUEUED, { includeDeleted: true }))?.status, 'deleted');
    });
  });
});

test('--dry-run reports what would be done and writes nothing, not even the database file', { skip }, async () => {
  await withEnv(async (env) => {
    fill(env);
    const r = await env.run('--from', env.glance.url, '--dry-run');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\(dry run: nothing written\)/);
    assert.match(r.out, /^images: 6 in Glance, 5 carried \(would be added 5, would be updated 0, unchanged 0\)/m);
    assert.equal(existsSync(env.irisPath), false);

    // Against an existing database: counts from its content, rows untouched.
    assert.equal((await env.run('--from', env.glance.url)).code, 0);
    env.glance.db.prepare("update images set name = 'renamed' where id = ?").run(IMG_ACTIVE);
    const dry = await env.run('--from', env.glance.url, '--dry-run');
    assert.match(dry.out, /^images: 6 in Glance, 5 carried \(would be added 0, would be updated 1, unchanged 4\)/m);
    await withIris(env.irisPath, async ({ images }) => assert.equal((await images.get(IMG_ACTIVE))?.name, 'cirros 🐱'));
  });
});

test('an Iris database holding images of its own is refused without --merge, and merged with it', { skip }, async () => {
  await withEnv(async (env) => {
    fill(env);
    const other = makeGlanceSqlite(env.dir, 'other');
    try {
      other.addImage({ id: '99999999-9999-4999-8999-999999999999', name: 'iris-own', status: 'queued' });
      assert.equal((await env.run('--from', other.url)).code, 0);
    } finally {
      other.close();
    }
    const refused = await env.run('--from', env.glance.url);
    assert.equal(refused.code, 1);
    assert.equal(refused.out, '');
    assert.match(refused.err, /the Iris database is not empty: it holds 1 image\(s\) and 0 task\(s\) that are not in this Glance database; pass --merge/);
    await withIris(env.irisPath, async ({ images }) => assert.equal(await images.get(IMG_ACTIVE), null));

    const merged = await env.run('--from', env.glance.url, '--merge');
    assert.equal(merged.code, 0, merged.err);
    assert.match(merged.out, /^images: 6 in Glance, 5 carried \(added 5, updated 0, unchanged 0\)/m);
    await withIris(env.irisPath, async ({ images }) => {
      assert.equal((await images.get('99999999-9999-4999-8999-999999999999'))?.name, 'iris-own');
      assert.equal((await images.get(IMG_ACTIVE))?.name, 'cirros 🐱');
    });
  });
});

test('usage errors exit 2; an unreadable or non-Glance source exits 1', { skip }, async () => {
  await withEnv(async (env) => {
    const missing = await env.run();
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--from <SQLAlchemy URL of the Glance database> is required/);
    const bad = await env.run('--from', 'oracle://x/y');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /database "oracle" is not supported/);
    const unknown = await env.run('--from', env.glance.url, '--bogus');
    assert.equal(unknown.code, 2);
    const self = await env.run('--from', `sqlite:///${env.irisPath}`);
    assert.equal(self.code, 2);
    assert.match(self.err, /names the Iris database itself/);
    const absent = await env.run('--from', `sqlite:///${join(env.dir, 'absent.sqlite')}`);
    assert.equal(absent.code, 1);
    assert.match(absent.err, /^iris-manage: /);
    const other = new BetterSqlite3(join(env.dir, 'other.sqlite'));
    other.exec('create table images (id text)');
    other.close();
    const notGlance = await env.run('--from', `sqlite:///${join(env.dir, 'other.sqlite')}`, '--dry-run');
    assert.equal(notGlance.code, 1);
    assert.match(notGlance.err, /this is not a Glance database: it has no images and alembic_version tables/);
  });
});

test("deleted Iris rows are not Iris's own content: no --merge needed (Glance may have purged them)", { skip }, async () => {
  await withEnv(async (env) => {
    fill(env);
    const other = makeGlanceSqlite(env.dir, 'other');
    try {
      other.addImage({ id: '99999999-9999-4999-8999-999999999999', name: 'purged-later', status: 'queued' });
      assert.equal((await env.run('--from', other.url)).code, 0);
    } finally {
      other.close();
    }
    await withIris(env.irisPath, async ({ images }) => images.remove('99999999-9999-4999-8999-999999999999'));
    const r = await env.run('--from', env.glance.url);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^images: 6 in Glance, 5 carried \(added 5, updated 0, unchanged 0\)/m);
  });
});

test('the edge cases land alike in Iris on PostgreSQL and on MariaDB (4-byte UTF-8 included), and re-run unchanged', { skip, timeout: 300_000 }, async (t: TestContext) => {
  await withEnv(async (env) => {
    fill(env);
    assert.equal((await env.run('--from', env.glance.url)).code, 0);
    const ids = [IMG_ACTIVE, IMG_SWIFT, IMG_QUEUED, IMG_DEACTIVATED, IMG_UPLOADING];
    const contents = ({ images, members, tasks }: Repos) =>
      Promise.all([...ids.map(async (id) => [await images.get(id), await members.list(id)]), tasks.get(TASK_OK)]);
    const onSqlite = await withIris(env.irisPath, contents);
    for (const start of [startPostgres, startMariadb]) {
      const server = await startOrSkip(t, start);
      if (server === undefined) continue;
      try {
        await env.useDatabase(server.url);
        const first = await env.run('--from', env.glance.url);
        assert.equal(first.code, 0, first.err);
        assert.match(first.out, /^images: 6 in Glance, 5 carried \(added 5, updated 0, unchanged 0\)/m);
        const second = await env.run('--from', env.glance.url);
        assert.match(second.out, /^images: 6 in Glance, 5 carried \(added 0, updated 0, unchanged 5\)/m, `${server.engine}: ${second.out}`);
        assert.deepEqual(await withIris(server.url, contents), onSqlite, server.engine);
      } finally {
        await server.stop();
      }
    }
  });
});
