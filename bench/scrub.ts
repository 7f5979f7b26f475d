/**
 * How fast one iris-scrubber run empties its queue: N pending_delete images, each with data in
 * two file stores, on a SQLite file; one run per scrub_pool_size, each on fresh data.
 *
 *   node --import tsx bench/scrub.ts [images=400] [pool sizes=1,4]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/persistence/database.js';
import { createImageRepository } from '../src/persistence/image-repository.js';
import { migrateToLatest } from '../src/persistence/migrator.js';
import { createScrubQueue } from '../src/persistence/scrub-queue.js';
import { createScrubber } from '../src/services/scrubber.js';
import { deleteLater, imageWithData, twoFileStores } from '../test/scrub/scrub-fixture.js';
import { processor } from './machine.js';

const count = Number(process.argv[2] ?? 400);
const pools = (process.argv[3] ?? '1,4').split(',').map(Number);
const T0 = new Date('2026-01-01T00:00:00.000Z');

console.log(`${processor()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const pool of pools) {
  const dir = await mkdtemp(join(tmpdir(), 'iris-bench-scrub-'));
  const database = openDatabase({ sqlitePath: join(dir, 'iris.sqlite') });
  try {
    await migrateToLatest(database.db, database.engine);
    const images = createImageRepository(database.db, { clock: { now: () => T0 }, engine: database.engine });
    const blobs = twoFileStores(join(dir, 'stores'));
    for (let i = 0; i < count; i++) await deleteLater(images, await imageWithData(images, blobs, ['a', 'b'], T0), T0);
    const started = process.hrtime.bigint();
    const report = await createScrubber({
      queue: createScrubQueue(database.db, { engine: database.engine }),
      blobs,
      clock: { now: () => T0 },
      owner: 'bench-1',
      isDeadOwner: () => false,
      scrubTimeSeconds: 0,
      poolSize: pool,
      claimMs: 3600_000,
      log: { info: () => {}, warn: () => {}, error: (f, m) => console.error(m, f) },
    }).runOnce();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `scrub_pool_size=${pool}: ${report.imagesDeleted.length} images, ${report.locationsScrubbed} locations in ${seconds.toFixed(2)} s ` +
        `(${(report.imagesDeleted.length / seconds).toFixed(0)} images/s); failures ${report.failures}`,
    );
  } finally {
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}
