/**
 * The migration proof: the real Glance 25.1.0 (the peer rig, ../shared/peer-glance) makes a
 * database through its API — uploaded images in two filesystem stores, shared with accepted
 * and pending members, tagged, with properties, deactivated, deleted, queued, community and
 * hidden, one imported with glance-direct (a task) — and is stopped; `iris-manage
 * import-glance-db` carries its database into Iris, and Iris, started on the peer's image
 * directories, answers every image's show, members and tasks like the peer did, lists them all
 * and serves the same bytes (md5 and sha512), which were never copied.
 *
 * Field differences between the two answers are listed in KNOWN_DIFFERENCES with the reason;
 * anything else differing fails the test.
 *
 * The peer runs on SQLite here. Without ../shared/peer-glance (a clone of Iris outside the
 * workspace) the test skips loudly; in CI (CI=true) that is a failure.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runManage } from '../../src/cli/iris-manage.js';
import { freePort, startIris, type IrisProcess } from '../helpers/iris-server.js';
import { assertSameAnswers, call, makeImages, peerMissing, record, startPeer, type Peer } from './peer-scenario.js';

const skip = peerMissing();

test('a database made by the real Glance is imported and served by Iris: show, list, members, tasks, same bytes', { skip, timeout: 600_000 }, async (t: TestContext) => {
  const work = await mkdtemp(join(tmpdir(), 'import-glance-peer-'));
  const peerDir = join(work, 'peer');
  let peer: Peer | undefined;
  let iris: IrisProcess | undefined;
  try {
    peer = startPeer(peerDir, await freePort());
    const made = await makeImages(peer.base);
    const before = await record(peer.base, made);
    peer.stop();

    const storeLocal = join(peerDir, 'images', 'local');
    const storeLocal2 = join(peerDir, 'images', 'local2');
    const filesBefore = [...readdirSync(storeLocal), ...readdirSync(storeLocal2)].sort();
    const conf = join(work, 'iris.conf');
    await writeFile(
      conf,
      '[DEFAULT]\nenabled_backends = local:file,local2:file\n' +
        '[glance_store]\ndefault_backend = local\n' +
        `[local]\nfilesystem_store_datadir = ${storeLocal}\n[local2]\nfilesystem_store_datadir = ${storeLocal2}\n` +
        `[database]\nconnection = sqlite:///${join(work, 'iris.sqlite')}\n`,
    );
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), env: {}, cwd: work };
    const from = `sqlite:///${join(peerDir, 'glance.sqlite')}`;
    const code = await runManage(['--config-file', conf, 'import-glance-db', '--from', from], io);
    assert.equal(code, 0, err);
    t.diagnostic(out);
    const n = Object.keys(made.ids).length;
    assert.match(out, new RegExp(`^images: ${n + 1} in Glance, ${n} carried \\(added ${n}, updated 0, unchanged 0\\); 1 skipped: 1 deleted in Glance$`, 'm'));
    assert.match(out, /^members: 2 carried \(1 accepted, 1 pending\)$/m);
    assert.match(out, /^locations: 5 carried \(5 served by Iris's stores in place\)$/m);
    assert.match(out, /^tasks: 1 in Glance, 1 carried \(added 1, updated 0, unchanged 0\)$/m);

    const rerun = await runManage(['--config-file', conf, 'import-glance-db', '--from', from], { ...io, stdout: (s: string) => (out = s) });
    assert.equal(rerun, 0);
    assert.match(out, new RegExp(`^images: ${n + 1} in Glance, ${n} carried \\(added 0, updated 0, unchanged ${n}\\)`, 'm'));

    iris = await startIris({ args: ['--config-file', conf] });
    const after = await record(iris.baseUrl, made);

    assertSameAnswers(before, after, made);
    const deleted = await call(iris.baseUrl, 'GET', `/v2/images/${made.deletedId}`);
    assert.equal(deleted.status, 404);
    await deleted.arrayBuffer();
    // The bytes were served in place: the stores hold exactly the files Glance wrote.
    assert.deepEqual([...readdirSync(storeLocal), ...readdirSync(storeLocal2)].sort(), filesBefore);
  } finally {
    await iris?.stop();
    peer?.stop();
    await rm(work, { recursive: true, force: true });
  }
});
