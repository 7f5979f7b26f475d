/**
 * After `iris-manage db load_metadefs` of Glance's stock definitions (Debian glance-common),
 * Iris answers about them exactly as the real Glance 25.1.0 did: every answer of
 * catalog-snapshot.ts compared field by field with the peer's, recorded in
 * test/fixtures/metadefs/stock.json by scripts/record-metadefs-fixture.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runManage } from '../../src/cli/iris-manage.js';
import { STOCK_METADEFS_PATH } from '../../src/persistence/metadef-files.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { snapshotCatalog, type Json } from './catalog-snapshot.js';

const missing = existsSync(STOCK_METADEFS_PATH) ? null : `${STOCK_METADEFS_PATH} not installed (Debian package glance-common)`;
if (missing !== null && process.env.CI === 'true') throw new Error(`${missing} — CI=true, so this is a failure`);
if (missing !== null) console.error(`\n*** SKIP: ${missing} ***\n`);

const expected = JSON.parse(readFileSync(new URL('../fixtures/metadefs/stock.json', import.meta.url), 'utf8')) as Record<string, Json>;

let iris: IrisProcess | undefined;
before(async () => {
  if (missing !== null) return;
  iris = await startIris();
  let output = '';
  const io = { stdout: (s: string) => void (output += s), stderr: (s: string) => void (output += s), env: { ...process.env, IRIS_DATA_DIR: iris.dataDir } };
  assert.equal(await runManage(['db', 'load_metadefs'], io), 0, output);
});
after(() => iris?.stop());

test("the stock namespaces answer as the real Glance's", { skip: missing ?? false }, async () => {
  const actual = await snapshotCatalog(iris!.baseUrl);
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), 'the same requests');
  for (const [request, answer] of Object.entries(expected)) assert.deepEqual(actual[request], answer, request);
});
