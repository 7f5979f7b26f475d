/**
 * Records the real Glance's answers about the stock metadefs catalog into
 * test/fixtures/metadefs/stock.json (see test/metadefs/catalog-snapshot.ts). Run against a
 * peer Glance (../shared/peer-glance) after `glance-manage db load_metadefs`:
 *
 *   node --import tsx scripts/record-metadefs-fixture.ts http://127.0.0.1:9386
 */
import { writeFileSync } from 'node:fs';
import { snapshotCatalog } from '../test/metadefs/catalog-snapshot.js';

const base = process.argv[2];
if (base === undefined) {
  process.stderr.write('usage: record-metadefs-fixture.ts BASE_URL\n');
  process.exit(2);
}
const snapshot = await snapshotCatalog(base.replace(/\/+$/, ''));
const file = new URL('../test/fixtures/metadefs/stock.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(snapshot, null, 1)}\n`);
process.stdout.write(`recorded ${Object.keys(snapshot).length} answers into ${file.pathname}\n`);
