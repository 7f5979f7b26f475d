/** iris-manage db load_metadefs / export_metadefs / unload_metadefs on a SQLite data dir. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runManage } from '../../src/cli/iris-manage.js';

const dir = mkdtempSync(join(tmpdir(), 'iris-manage-metadefs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function manage(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (s: string) => void (out += s);
  const code = await runManage(argv, { stdout: write, stderr: write, env: { PATH: process.env.PATH, IRIS_DATA_DIR: join(dir, 'data') }, cwd: dir });
  return { code, out };
}

test('load, export and unload through iris-manage, with glance-manage option rules', async () => {
  const bad = await manage('db', 'load_metadefs', '--path', dir, '--overwrite');
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /combine of these options with --merge option/);

  assert.equal((await manage('db', 'sync')).code, 0);
  const file = join(dir, 'one.json');
  writeFileSync(file, JSON.stringify({ namespace: 'Iris::One', display_name: 'Iris: One', tags: [{ name: 'a' }] }));
  const loaded = await manage('db', 'load_metadefs', '--path', file);
  assert.equal(loaded.code, 0, loaded.out);
  assert.match(loaded.out, /Loaded 1 metadata definition namespace/);
  const again = await manage('db', 'load_metadefs', '--path', file, '--merge', '--prefer-new');
  assert.equal(again.code, 0, again.out);

  const out = mkdtempSync(join(dir, 'export-'));
  assert.equal((await manage('db', 'export_metadefs', '--path', out)).code, 0);
  assert.deepEqual(readdirSync(out), ['IrisOne.json']);
  assert.equal((await manage('db', 'unload_metadefs')).code, 0);
  const empty = mkdtempSync(join(dir, 'export-'));
  assert.equal((await manage('db', 'export_metadefs', '--path', empty)).code, 0);
  assert.deepEqual(readdirSync(empty), []);
});
