/**
 * A scrubber in its own process, for the tests that need real processes (killed mid-run,
 * several at once): one run over a SQLite file and the two file stores of scrub-fixture.ts,
 * as this process (`<node>-<pid>`). Every delete reaching the blob store is appended to a log
 * file first (one line each, O_APPEND, so several processes can share it). When a location
 * contains `hangOn`, the worker writes `marker` and stops there, holding its claim, until killed.
 *
 * Usage: node --import tsx test/scrub/scrub-worker.ts '<json options>'
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { currentWriter, formatWriter } from '../../src/blob/writer-identity.js';
import type { BlobStore } from '../../src/domain/ports.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createScrubQueue } from '../../src/persistence/scrub-queue.js';
import { createScrubber } from '../../src/services/scrubber.js';
import { twoFileStores } from './scrub-fixture.js';

interface WorkerOptions {
  readonly sqlitePath: string;
  readonly storesRoot: string;
  readonly deleteLog: string;
  readonly poolSize: number;
  /** Epoch ms the worker's clock reads. */
  readonly now: number;
  readonly hangOn?: string;
  readonly marker?: string;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
const database = openDatabase({ sqlitePath: opts.sqlitePath });
const stores = twoFileStores(opts.storesRoot);
const blobs: BlobStore = Object.assign(Object.create(stores) as BlobStore, {
  async delete(location: string, store?: string | null) {
    appendFileSync(opts.deleteLog, `${process.pid} ${location}\n`);
    if (opts.hangOn !== undefined && location.includes(opts.hangOn)) {
      writeFileSync(opts.marker!, String(process.pid));
      setInterval(() => {}, 60_000); // keeps the process alive while it "deletes"
      await new Promise<never>(() => {});
    }
    return stores.delete(location, store);
  },
});
const scrubber = createScrubber({
  queue: createScrubQueue(database.db, { engine: database.engine }),
  blobs,
  clock: { now: () => new Date(opts.now) },
  owner: formatWriter(currentWriter()),
  isDeadOwner: () => false,
  scrubTimeSeconds: 0,
  poolSize: opts.poolSize,
  claimMs: 3600_000,
  log: {
    info: () => {},
    warn: (fields, message) => console.error('WARN', message, JSON.stringify(fields)),
    error: (fields, message) => console.error('ERROR', message, JSON.stringify(fields)),
  },
});
const report = await scrubber.runOnce();
process.stdout.write(`${JSON.stringify(report)}\n`);
await database.close();
