/**
 * The migration proof across engines: MariaDB started by the test, the real Glance
 * 25.1.0 on it (peer rig with PEER_GLANCE_DB), images made through its API (uploaded into two
 * stores, shared with accepted and pending members, tagged, with properties, deactivated,
 * deleted, queued, an import task); `iris-manage import-glance-db` into Iris on PostgreSQL (also
 * started by the test), twice (the second run changes nothing); Iris started on that PostgreSQL
 * database and the peer's image directories answers every image's show, members, list and tasks
 * like the peer did and serves the same bytes (md5, sha512).
 *
 * The same the other way round: Glance on PostgreSQL (psycopg2), Iris on MariaDB.
 *
 * Skips loudly without the peer rig, MariaDB or PostgreSQL; fails instead with CI=true.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runManage } from '../../src/cli/iris-manage.js';
import { freePort, startIris, type IrisProcess } from '../helpers/iris-server.js';
import { startMariadb } from '../helpers/mariadb-server.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startOrSkip, type SqlServer } from '../helpers/sql-server.js';
import { assertSameAnswers, makeImages, peerMissing, record, startPeer, type Peer } from './peer-scenario.js';

const skip = peerMissing();

async function migrate(t: TestContext, glanceOn: () => Promise<SqlServer>, irisOn: () => Promise<SqlServer>): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'import-glance-engines-'));
  const servers: SqlServer[] = [];
  let peer: Peer | undefined;
  let iris: IrisProcess | undefined;
  try {
    const glanceServer = await startOrSkip(t, glanceOn);
    if (glanceServer === undefined) return;
    servers.push(glanceServer);
    const irisServer = await startOrSkip(t, irisOn);
    if (irisServer === undefined) return;
    servers.push(irisServer);

    const glanceUrl = await glanceServer.createDatabase('glance');
    const peerDir = join(work, 'peer');
    peer = startPeer(peerDir, await freePort(), { PEER_GLANCE_DB: glanceUrl });
    const made = await makeImages(peer.base);
    const before = await record(peer.base, made);
    peer.stop();

    const conf = join(work, 'iris.conf');
    await writeFile(
      conf,
      '[DEFAULT]\nenabled_backends = local:file,local2:file\n[glance_store]\ndefault_backend = local\n' +
        `[local]\nfilesystem_store_datadir = ${join(peerDir, 'images', 'local')}\n` +
        `[local2]\nfilesystem_store_datadir = ${join(peerDir, 'images', 'local2')}\n` +
        `[database]\nconnection = ${irisServer.url}\n`,
    );
    const n = Object.keys(made.ids).length;
    for (const run of ['first', 'second']) {
      let out = '';
      let err = '';
      const code = await runManage(['--config-file', conf, 'import-glance-db', '--from', glanceUrl], {
        stdout: (s) => (out += s),
        stderr: (s) => (err += s),
        env: {},
        cwd: work,
      });
      assert.equal(code, 0, err);
      t.diagnostic(out);
      assert.match(out, /\(alembic revision wallaby_contract01\)$/m);
      assert.match(out, /^Iris database: [a-z+]+:\/\/iris:\*\*\*@/m, 'the password is not printed');
      const counts = run === 'first' ? `added ${n}, updated 0, unchanged 0` : `added 0, updated 0, unchanged ${n}`;
      assert.match(out, new RegExp(`^images: ${n + 1} in Glance, ${n} carried \\(${counts}\\); 1 skipped: 1 deleted in Glance$`, 'm'));
      assert.match(out, /^members: 2 carried \(1 accepted, 1 pending\)$/m);
      assert.match(out, /^locations: 5 carried \(5 served by Iris's stores in place\)$/m);
      assert.match(out, run === 'first' ? /^tasks: 1 in Glance, 1 carried \(added 1, updated 0, unchanged 0\)$/m : /^tasks: 1 in Glance, 1 carried \(added 0, updated 0, unchanged 1\)$/m);
    }

    iris = await startIris({ args: ['--config-file', conf] });
    assertSameAnswers(before, await record(iris.baseUrl, made), made);
  } finally {
    await iris?.stop();
    peer?.stop();
    for (const server of servers) await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

test('Glance on MariaDB imported into Iris on PostgreSQL, served alike', { skip, timeout: 900_000 }, (t) => migrate(t, startMariadb, startPostgres));

test('Glance on PostgreSQL imported into Iris on MariaDB, served alike', { skip, timeout: 900_000 }, (t) => migrate(t, startPostgres, startMariadb));
