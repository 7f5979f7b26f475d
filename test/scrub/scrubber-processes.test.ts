/**
 * Scrubbers as real processes on one SQLite file (test/scrub/scrub-worker.ts): one killed
 * (SIGKILL) in the middle of a delete leaves its claim in the database and the next run on
 * this node takes it over and finishes; two running at once delete every location exactly
 * once (every delete reaching either process's blob store is logged to one shared file).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentWriter, formatWriter, isDeadLocalWriter, parseWriter } from '../../src/blob/writer-identity.js';
import type { Image } from '../../src/domain/image.js';
import { openDatabase, type Database } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import { migrateToLatest } from '../../src/persistence/migrator.js';
import { createScrubQueue } from '../../src/persistence/scrub-queue.js';
import { createScrubber } from '../../src/services/scrubber.js';
import { REPO_ROOT } from '../helpers/iris-server.js';
import { dataExists, deleteLater, imageWithData, twoFileStores } from './scrub-fixture.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iris-scrub-proc-'));
});
after(() => rm(dir, { recursive: true, force: true }));

interface Setup {
  readonly database: Database;
  readonly sqlitePath: string;
  readonly storesRoot: string;
  readonly images: Image[];
}

/** A fresh database and stores with `count` pending_delete images, each in both stores. */
async function setup(name: string, count: number): Promise<Setup> {
  const sqlitePath = join(dir, name, 'iris.sqlite');
  const storesRoot = join(dir, name, 'stores');
  const database = openDatabase({ sqlitePath });
  await migrateToLatest(database.db, database.engine);
  const repo = createImageRepository(database.db, { clock: { now: () => T0 }, engine: database.engine });
  const blobs = twoFileStores(storesRoot);
  const images: Image[] = [];
  for (let i = 0; i < count; i++) images.push(await imageWithData(repo, blobs, ['a', 'b'], T0));
  for (const image of images) await deleteLater(repo, image, T0);
  return { database, sqlitePath, storesRoot, images };
}

/** Starts a worker; resolves its exit once it ends. */
function startWorker(options: Record<string, unknown>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/scrub/scrub-worker.ts', JSON.stringify(options)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

/** Polls `condition` every 50 ms, up to `bound` ms (a generous bound, not a timing). */
async function waitFor(condition: () => boolean, bound: number, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > bound) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('a scrubber killed in the middle of a delete: the next run here takes its claim over at once and finishes', async () => {
  const s = await setup('killed', 5);
  try {
    const marker = join(dir, 'killed', 'hanging');
    const deleteLog = join(dir, 'killed', 'deletes.log');
    const hangOn = s.images[2]!.id;
    const worker = startWorker({ sqlitePath: s.sqlitePath, storesRoot: s.storesRoot, deleteLog, poolSize: 1, now: T0.getTime(), hangOn, marker });
    try {
      await waitFor(() => existsSync(marker) || worker.child.exitCode !== null, 120_000, 'the worker to reach the delete it hangs in');
      assert.ok(existsSync(marker), `worker ended early:\n${worker.output()}`);
      const queue = createScrubQueue(s.database.db, { engine: s.database.engine });
      const workerOwner = formatWriter({ node: currentWriter().node, pid: worker.child.pid! });
      assert.deepEqual(await queue.claimOwners(), [workerOwner], 'the claim is in the database');
    } finally {
      worker.child.kill('SIGKILL');
    }
    assert.equal((await worker.exited).signal, 'SIGKILL');
    const before = readFileSync(deleteLog, 'utf8').trim().split('\n');
    assert.equal(before.length, 5, 'two images done, the third one hanging');

    // Same clock as the killed run: its claim has not run out; only its death frees it.
    const report = await createScrubber({
      queue: createScrubQueue(s.database.db, { engine: s.database.engine }),
      blobs: twoFileStores(s.storesRoot),
      clock: { now: () => T0 },
      owner: formatWriter(currentWriter()),
      isDeadOwner: (o) => {
        const w = parseWriter(o);
        return w !== undefined && isDeadLocalWriter(w);
      },
      scrubTimeSeconds: 0,
      poolSize: 2,
      claimMs: 3600_000,
      log: { info: () => {}, warn: () => {}, error: (f, m) => assert.fail(`${m} ${JSON.stringify(f)}`) },
    }).runOnce();
    assert.equal(report.locationsScrubbed, 6, 'the hanging location and the two images never reached');
    assert.equal(report.failures, 0);
    const repo = createImageRepository(s.database.db, { engine: s.database.engine });
    for (const image of s.images) {
      assert.equal((await repo.get(image.id, { includeDeleted: true }))?.status, 'deleted');
      for (const l of image.locations) assert.equal(dataExists(l.url), false);
    }
    assert.deepEqual(await createScrubQueue(s.database.db, { engine: s.database.engine }).claimOwners(), []);
  } finally {
    await s.database.close();
  }
});

test('two scrubber processes at once on one database delete every location exactly once', async () => {
  const s = await setup('parallel', 16);
  try {
    const deleteLog = join(dir, 'parallel', 'deletes.log');
    const options = { sqlitePath: s.sqlitePath, storesRoot: s.storesRoot, deleteLog, poolSize: 2, now: T0.getTime() };
    const workers = [startWorker(options), startWorker(options)];
    const exits = await Promise.all(workers.map((w) => w.exited));
    exits.forEach((e, i) => assert.equal(e.code, 0, workers[i]!.output()));
    const lines = readFileSync(deleteLog, 'utf8').trim().split('\n');
    const locations = lines.map((l) => l.split(' ')[1]!);
    assert.equal(locations.length, 32, 'one delete per location');
    assert.equal(new Set(locations).size, 32, 'no location deleted twice');
    const repo = createImageRepository(s.database.db, { engine: s.database.engine });
    for (const image of s.images) {
      assert.equal((await repo.get(image.id, { includeDeleted: true }))?.status, 'deleted');
      for (const l of image.locations) assert.equal(dataExists(l.url), false);
    }
  } finally {
    await s.database.close();
  }
});
