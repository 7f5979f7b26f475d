/**
 * The core lifecycle over real HTTP with Iris on PostgreSQL and on MariaDB, each configured
 * the way an operator writes it: `[database] connection = postgresql://…` and the install
 * guide's `mysql+pymysql://…?charset=utf8mb4`. Iris migrates the empty database at start.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describe as describeAnswer, getBytes, json, patch, putBytes } from '../helpers/http.js';
import { startIris } from '../helpers/iris-server.js';
import { openDatabase } from '../../src/persistence/database.js';
import { testEngines } from '../persistence/test-engines.js';

const identity = (project: string) => ({ 'X-Project-Id': project, 'X-Roles': 'member,reader', 'X-User-Id': `user-${project}` });
const A = identity('project-a');
const B = identity('project-b');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

for (const engine of (await testEngines()).filter((e) => e.name !== 'sqlite')) {
  describe(`Iris on ${engine.name}`, { skip: engine.skip }, () => {
    test('create, upload, show, list, tag, share, download and delete through HTTP', async (t) => {
      const url = await engine.server!.createDatabase('api');
      const dir = await mkdtemp(join(tmpdir(), 'iris-db-engine-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const conf = join(dir, 'glance-api.conf');
      // The install guide's section, host and password changed.
      await writeFile(conf, `[database]\nconnection = ${url}\n`);
      const iris = await startIris({ args: ['--config-file', conf] });
      t.after(() => iris.stop());
      const base = iris.baseUrl;

      const created = await json('POST', `${base}/v2/images`, { name: 'cirros 🐧', disk_format: 'raw', container_format: 'bare', tags: ['boot'], os_distro: 'ćirros 🚀' }, A);
      assert.equal(created.status, 201, describeAnswer(created));
      const id = created.body.id as string;

      const data = randomBytes(100_000);
      const uploaded = await putBytes(`${base}/v2/images/${id}/file`, data, A);
      assert.equal(uploaded.status, 204, describeAnswer(uploaded));

      const shown = await json('GET', `${base}/v2/images/${id}`, undefined, A);
      assert.equal(shown.status, 200);
      assert.equal(shown.body.status, 'active');
      assert.equal(shown.body.size, data.length);
      assert.equal(shown.body.checksum, md5(data));
      assert.equal(shown.body.name, 'cirros 🐧');
      assert.equal(shown.body.os_distro, 'ćirros 🚀');

      assert.equal((await json('PUT', `${base}/v2/images/${id}/tags/${encodeURIComponent('🏷️')}`, undefined, A)).status, 204);
      const listed = await json('GET', `${base}/v2/images?tag=${encodeURIComponent('🏷️')}&sort=name:asc`, undefined, A);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.images.map((i: { id: string }) => i.id), [id]);
      assert.deepEqual([...listed.body.images[0].tags].sort(), ['boot', '🏷️'].sort());

      // Share with B: pending first (B cannot list it by default), then accepted.
      const made = await json('POST', `${base}/v2/images/${id}/members`, { member: 'project-b' }, A);
      assert.equal(made.status, 200, describeAnswer(made));
      assert.equal((await json('POST', `${base}/v2/images/${id}/members`, { member: 'project-b' }, A)).status, 409);
      assert.deepEqual((await json('GET', `${base}/v2/images`, undefined, B)).body.images, []);
      const accepted = await json('PUT', `${base}/v2/images/${id}/members/project-b`, { status: 'accepted' }, B);
      assert.equal(accepted.status, 200, describeAnswer(accepted));
      const seenByB = await json('GET', `${base}/v2/images`, undefined, B);
      assert.deepEqual(seenByB.body.images.map((i: { id: string }) => i.id), [id]);
      const downloaded = await getBytes(`${base}/v2/images/${id}/file`, B);
      assert.equal(downloaded.status, 200);
      assert.equal(md5(downloaded.bytes), md5(data));

      // Paging: a second image, one per page, in both directions.
      const second = await json('POST', `${base}/v2/images`, { name: null, disk_format: 'raw', container_format: 'bare' }, A);
      assert.equal(second.status, 201);
      for (const dir of ['asc', 'desc']) {
        const page1 = await json('GET', `${base}/v2/images?sort=name:${dir}&limit=1`, undefined, A);
        const page2 = await json('GET', `${base}/v2/images?sort=name:${dir}&limit=1&marker=${page1.body.images[0].id}`, undefined, A);
        const ids = [...page1.body.images, ...page2.body.images].map((i: { id: string }) => i.id);
        // NULL names sort first ascending, last descending, as on SQLite.
        assert.deepEqual(ids, dir === 'asc' ? [second.body.id, id] : [id, second.body.id]);
      }

      const renamed = await patch(`${base}/v2/images/${id}`, [{ op: 'replace', path: '/name', value: 'renamed' }], A);
      assert.equal(renamed.status, 200, describeAnswer(renamed));
      assert.equal((await json('DELETE', `${base}/v2/images/${id}`, undefined, A)).status, 204);
      assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, A)).status, 404);
      // The id is never reused.
      const reused = await json('POST', `${base}/v2/images`, { id, name: 'again' }, A);
      assert.equal(reused.status, 409, describeAnswer(reused));

      // The rows are in the configured server's database, not in a SQLite file.
      const database = openDatabase({ url });
      try {
        const rows = await database.db.selectFrom('images').select(['id', 'deleted']).orderBy('id').execute();
        assert.deepEqual(rows, [{ id, deleted: 1 }, { id: second.body.id, deleted: 0 }].sort((x, y) => (x.id < y.id ? -1 : 1)));
      } finally {
        await database.close();
      }
    });
  });
}
