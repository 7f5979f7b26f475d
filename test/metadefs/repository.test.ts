/**
 * MetadefRepository and the load/unload/export of definition files on a real, migrated
 * database of every engine (test/persistence/test-engines.ts): unique names as Conflict,
 * all-or-nothing writes, children going with their namespace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict } from '../../src/domain/errors.js';
import type { NamespaceFields } from '../../src/domain/metadef.js';
import type { MetadefRepository } from '../../src/domain/metadef-ports.js';
import { exportMetadefs, loadMetadefs, unloadMetadefs } from '../../src/persistence/metadef-files.js';
import { createMetadefRepository } from '../../src/persistence/metadef-repository.js';
import { createTestDb, type TestDb } from '../persistence/sqlite-fixture.js';
import { testEngines } from '../persistence/test-engines.js';

const T0 = new Date('2024-05-01T10:00:00.000Z');
const T1 = new Date('2024-05-01T11:00:00.000Z');

const fields = (namespace: string, extra: Partial<NamespaceFields> = {}): NamespaceFields => ({
  namespace,
  display_name: null,
  description: null,
  visibility: 'public',
  protected: false,
  owner: 'project-a',
  ...extra,
});

const DEFINITION = {
  namespace: 'Test::Loaded',
  display_name: 'Test: Loaded',
  description: 'loaded from a file',
  visibility: 'public',
  protected: true,
  resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'test_' }],
  properties: { speed: { title: 'Speed', type: 'integer', minimum: 1 } },
  objects: [{ name: 'Pair', description: 'two', properties: { left: { title: 'L', type: 'string' } } }],
  tags: [{ name: 'fast' }],
};

for (const engine of await testEngines()) {
  describe(`metadef repository on ${engine.name}`, { skip: engine.skip }, () => {
    let t: TestDb;
    let repo: MetadefRepository;
    let dir: string;
    before(async () => {
      t = await createTestDb(engine.server);
      repo = createMetadefRepository(t.db, { engine: t.engine });
      dir = mkdtempSync(join(tmpdir(), 'iris-metadefs-'));
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
      await t.cleanup();
    });

    test('a namespace with contents in one write; names unique; a failed create leaves nothing', async () => {
      const ns = await repo.addNamespace(fields('ns1'), T0, {
        associations: [{ name: 'OS::Nova::Flavor', prefix: 'hw:', properties_target: null }],
        objects: [{ name: 'o', description: null, required: ['p'], properties: { p: { type: 'string', title: 'P' } } }],
        properties: { q: { type: 'integer', title: 'Q' } },
        tags: ['t'],
      });
      assert.equal(ns.created_at.getTime(), T0.getTime());
      assert.deepEqual((await repo.listObjects(ns)).map((o) => [o.name, o.required, o.properties]), [['o', ['p'], { p: { type: 'string', title: 'P' } }]]);
      assert.deepEqual((await repo.listAssociations(ns)).map((a) => [a.name, a.prefix]), [['OS::Nova::Flavor', 'hw:']]);
      await assert.rejects(repo.addNamespace(fields('ns1'), T1), Conflict);
      await assert.rejects(repo.addNamespace(fields('ns2'), T1, { associations: [], objects: [], properties: {}, tags: ['x', 'x'] }), Conflict);
      assert.equal(await repo.getNamespace('ns2'), null);

      await assert.rejects(repo.addTags(ns, ['a', 'a'], false, T1), Conflict);
      assert.deepEqual((await repo.listTags(ns)).map((x) => x.name), ['t'], 'a refused replace keeps the old tags');
      await repo.addTags(ns, ['a', 'b'], true, T1);
      assert.deepEqual((await repo.listTags(ns)).map((x) => x.name).sort(), ['a', 'b', 't']);

      const other = await repo.addNamespace(fields('ns3', { visibility: 'private', owner: 'project-b' }), T1);
      await assert.rejects(repo.saveNamespace(other, fields('ns1'), T1), Conflict);
      const scoped = await repo.listNamespaces({ scope: { project: 'project-c', all: false } });
      assert.deepEqual(scoped.map((n) => n.namespace), ['ns1']);
      assert.deepEqual((await repo.listNamespaces({ scope: { project: null, all: true }, resourceTypes: ['OS::Nova::Flavor'] })).map((n) => n.namespace), ['ns1']);

      await repo.removeNamespace(ns);
      assert.equal(await repo.getNamespace('ns1'), null);
      assert.deepEqual((await repo.listResourceTypes()).map((r) => r.name), ['OS::Nova::Flavor'], 'resource types outlive their namespaces');
      await repo.removeNamespace(other);
    });

    test('load, load again (skipped, merged), export, unload', async () => {
      const file = join(dir, 'test.json');
      writeFileSync(file, JSON.stringify(DEFINITION));
      const first = await loadMetadefs(t.db, t.engine, { path: dir, now: () => T0 });
      assert.deepEqual(first.loaded, ['Test::Loaded']);
      const ns = (await repo.getNamespace('Test::Loaded'))!;
      assert.equal(ns.owner, 'admin');
      assert.equal(ns.protected, true);
      assert.deepEqual((await repo.listResourceTypes()).find((r) => r.name === 'OS::Glance::Image')?.protected, true);
      assert.deepEqual((await repo.listProperties(ns)).map((p) => p.schema), [DEFINITION.properties.speed]);

      assert.deepEqual((await loadMetadefs(t.db, t.engine, { path: file })).skipped, ['Test::Loaded']);
      writeFileSync(file, JSON.stringify({ ...DEFINITION, tags: [{ name: 'fast' }, { name: 'new' }], description: 'changed' }));
      await loadMetadefs(t.db, t.engine, { path: file, merge: true });
      const merged = (await repo.getNamespace('Test::Loaded'))!;
      assert.equal(merged.description, 'loaded from a file', 'merge alone keeps what exists');
      assert.deepEqual((await repo.listTags(merged)).map((x) => x.name), ['fast', 'new']);
      await loadMetadefs(t.db, t.engine, { path: file, merge: true, preferNew: true });
      assert.equal((await repo.getNamespace('Test::Loaded'))!.description, 'changed');
      await assert.rejects(loadMetadefs(t.db, t.engine, { path: file, overwrite: true }), /combine/);

      const out = mkdtempSync(join(dir, 'export-'));
      const files = await exportMetadefs(t.db, out);
      assert.deepEqual(files, [join(out, 'TestLoaded.json')]);
      const exported = JSON.parse(readFileSync(files[0]!, 'utf8'));
      assert.equal(exported.namespace, 'Test::Loaded');
      assert.deepEqual(exported.objects, [{ name: 'Pair', description: 'two', properties: DEFINITION.objects[0]!.properties }]);

      await unloadMetadefs(t.db, t.engine);
      assert.equal(await repo.getNamespace('Test::Loaded'), null);
      assert.deepEqual(await repo.listResourceTypes(), []);
    });
  });
}
