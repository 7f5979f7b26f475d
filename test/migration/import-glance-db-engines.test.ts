/**
 * The migration proof across engines: MariaDB started by the test, the real Glance
 * 25.1.0 on it (peer rig with PEER_GLANCE_DB), images made through its API; import-glance-db
 * reads MariaDB and writes Iris on PostgreSQL (also started by the test).
 *
 * Iris's API server cannot start on PostgreSQL yet ([database] connection still takes only
 * sqlite:/// URLs), so what Iris on PostgreSQL would serve is proven in two steps: the same
 * MariaDB database is also imported into Iris on SQLite, which is started on the peer's image
 * directories and must answer like the peer did (show, members, list, tasks, same bytes); and
 * the PostgreSQL database must hold exactly what the SQLite one holds, entity by entity, read
 * through the same repositories. When the API runs on PostgreSQL, the first step points at it.
 *
 * Skips loudly without the peer rig, MariaDB or PostgreSQL; fails instead with CI=true.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runManage } from '../../src/cli/iris-manage.js';
import { openDatabase, type Database } from '../../src/persistence/database.js';
import { importGlanceDb, importTargetOf } from '../../src/persistence/glance-import/import-glance-db.js';
import { openGlanceDatabase, parseGlanceUrl } from '../../src/persistence/glance-import/glance-source.js';
import { formatReport } from '../../src/persistence/glance-import/import-report.js';
import { migrateToLatest } from '../../src/persistence/migrator.js';
import { freePort, startIris, type IrisProcess } from '../helpers/iris-server.js';
import { startMariadb } from '../helpers/mariadb-server.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startOrSkip, type SqlServer } from '../helpers/sql-server.js';
import { assertSameAnswers, makeImages, peerMissing, record, startPeer, type Peer } from './peer-scenario.js';

const skip = peerMissing();

/** Everything Iris holds about `ids`, read through its repositories. */
async function contents(database: Database, imageIds: readonly string[], taskIds: readonly string[]): Promise<unknown> {
  const { images, members, tasks } = importTargetOf(database);
  const out: Record<string, unknown> = {};
  for (const id of imageIds) out[id] = { image: await images.get(id), members: await members.list(id) };
  for (const id of taskIds) out[id] = await tasks.get(id);
  return out;
}

test('Glance on MariaDB imported into Iris on PostgreSQL', { skip, timeout: 900_000 }, async (t: TestContext) => {
  const work = await mkdtemp(join(tmpdir(), 'import-glance-engines-'));
  const servers: SqlServer[] = [];
  let peer: Peer | undefined;
  let iris: IrisProcess | undefined;
  const opened: Database[] = [];
  try {
    const maria = await startOrSkip(t, startMariadb);
    if (maria === undefined) return;
    servers.push(maria);
    const postgres = await startOrSkip(t, startPostgres);
    if (postgres === undefined) return;
    servers.push(postgres);

    const glanceUrl = await maria.createDatabase('glance');
    const peerDir = join(work, 'peer');
    peer = startPeer(peerDir, await freePort(), { PEER_GLANCE_DB: glanceUrl });
    const made = await makeImages(peer.base);
    const before = await record(peer.base, made);
    peer.stop();

    const stores = {
      stores: [
        { id: 'local', dir: join(peerDir, 'images', 'local') },
        { id: 'local2', dir: join(peerDir, 'images', 'local2') },
      ],
      multiStore: true,
    };
    const taskIds = (before.tasks.tasks as { id: string }[]).map((task) => task.id);
    const imageIds = Object.values(made.ids);

    // MariaDB → PostgreSQL, twice: the second run changes nothing.
    const pgIris = openDatabase({ url: postgres.url });
    opened.push(pgIris);
    await migrateToLatest(pgIris.db, pgIris.engine);
    const n = imageIds.length;
    for (const run of ['first', 'second']) {
      const source = openGlanceDatabase(parseGlanceUrl(glanceUrl, work));
      try {
        const report = await importGlanceDb({
          source,
          sourceName: 'mariadb',
          target: importTargetOf(pgIris),
          targetName: 'postgresql',
          stores,
          dryRun: false,
          merge: false,
        });
        const text = formatReport(report);
        t.diagnostic(text);
        assert.equal(report.revision, 'wallaby_contract01');
        assert.deepEqual(
          [report.images.seen, report.images.added, report.images.updated, report.images.unchanged, report.images.skipped.entries()],
          run === 'first' ? [n + 1, n, 0, 0, [['deleted in Glance', 1]]] : [n + 1, 0, 0, n, [['deleted in Glance', 1]]],
          text,
        );
        assert.match(text, /^members: 2 carried \(1 accepted, 1 pending\)$/m);
        assert.match(text, /^locations: 5 carried \(5 served from Iris's filesystem stores in place\)$/m);
        assert.deepEqual([report.tasks.added, report.tasks.unchanged], run === 'first' ? [1, 0] : [0, 1]);
      } finally {
        await source.destroy();
      }
    }

    // MariaDB → SQLite with the command, and Iris served from it on the peer's directories.
    const conf = join(work, 'iris.conf');
    await writeFile(
      conf,
      '[DEFAULT]\nenabled_backends = local:file,local2:file\n[glance_store]\ndefault_backend = local\n' +
        `[local]\nfilesystem_store_datadir = ${stores.stores[0]!.dir}\n[local2]\nfilesystem_store_datadir = ${stores.stores[1]!.dir}\n` +
        `[database]\nconnection = sqlite:///${join(work, 'iris.sqlite')}\n`,
    );
    let err = '';
    const code = await runManage(['--config-file', conf, 'import-glance-db', '--from', glanceUrl], {
      stdout: () => undefined,
      stderr: (s) => (err += s),
      env: {},
      cwd: work,
    });
    assert.equal(code, 0, err);
    iris = await startIris({ args: ['--config-file', conf] });
    assertSameAnswers(before, await record(iris.baseUrl, made), made);
    await iris.stop();
    iris = undefined;

    const sqliteIris = openDatabase({ sqlitePath: join(work, 'iris.sqlite') });
    opened.push(sqliteIris);
    assert.deepEqual(await contents(pgIris, imageIds, taskIds), await contents(sqliteIris, imageIds, taskIds));
  } finally {
    await iris?.stop();
    peer?.stop();
    for (const database of opened) await database.close();
    for (const server of servers) await server.stop();
    await rm(work, { recursive: true, force: true });
  }
});
