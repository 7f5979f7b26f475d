import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createHashWorkerPool } from './hash-workers.js';
import type { HashJob } from './hash-workers.js';
import { createDigester } from './hashing-stream.js';

function hex(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

/** Feeds `data` in pieces of `piece` bytes, waiting whenever the job asks to. */
async function feed(job: HashJob, data: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < data.length; at += piece) {
    const wait = job.update(data.subarray(at, at + piece));
    if (wait) await wait;
  }
}

test('hash workers: digests equal node crypto for any chunking, ring size and thread count', async () => {
  for (const threadsPerJob of [1, 2, 3]) {
    const pool = createHashWorkerPool({ threadsPerJob });
    try {
      const data = randomBytes(3 * 65_536 + 17);
      for (const [piece, slotBytes, slots] of [
        [65_536, 65_536, 2],
        [1000, 4096, 1],
        [100_000, 30_000, 3],
        [data.length, 1 << 20, 4],
      ] as const) {
        const job = pool.start(['md5', 'sha512', 'sha256'], { slotBytes, slots });
        await feed(job, data, piece);
        assert.deepEqual(
          await job.digest(),
          [hex('md5', data), hex('sha512', data), hex('sha256', data)],
          `${threadsPerJob} threads, piece ${piece} slot ${slotBytes}x${slots}`,
        );
      }
      const empty = pool.start(['md5', 'sha256']);
      assert.deepEqual(await empty.digest(), [hex('md5', Buffer.alloc(0)), hex('sha256', Buffer.alloc(0))]);
    } finally {
      await pool.close();
    }
  }
});

test('hash workers: concurrent jobs share the threads without mixing data', async () => {
  // Jobs take turns over the pool: with more threads than a job uses, they land on different ones.
  for (const opts of [{ threadsPerJob: 2 }, { threadsPerJob: 1, threads: 2 }, { threadsPerJob: 1, threads: 1 }]) {
    const pool = createHashWorkerPool(opts);
    try {
      const a = randomBytes(200_000);
      const b = randomBytes(300_000);
      const c = randomBytes(100_000);
      const jobs = [a, b, c].map(() => pool.start(['md5', 'sha512'], { slotBytes: 8192, slots: 2 }));
      await Promise.all([feed(jobs[0]!, a, 5000), feed(jobs[1]!, b, 7000), feed(jobs[2]!, c, 9000)]);
      for (const [i, data] of [a, b, c].entries()) {
        assert.deepEqual(await jobs[i]!.digest(), [hex('md5', data), hex('sha512', data)], `${JSON.stringify(opts)} job ${i}`);
      }
    } finally {
      await pool.close();
    }
  }
});

test('hash workers: a full ring makes update wait (bounded bytes in flight)', async () => {
  const pool = createHashWorkerPool();
  try {
    const job = pool.start(['md5', 'sha512'], { slotBytes: 1024, slots: 2 });
    // Held threads hash nothing: two slots' worth fits, a third slot has to wait for a thread.
    pool.hold(true);
    assert.equal(job.update(Buffer.alloc(2048)), undefined);
    const wait = job.update(Buffer.alloc(10));
    assert.ok(wait instanceof Promise);
    pool.hold(false);
    await wait;
    const data = Buffer.concat([Buffer.alloc(2048), Buffer.alloc(10)]);
    assert.deepEqual(await job.digest(), [hex('md5', data), hex('sha512', data)]);
  } finally {
    await pool.close();
  }
});

test('hash workers: an unknown algorithm throws before any data flows', () => {
  const pool = createHashWorkerPool();
  assert.throws(() => pool.start(['md5', 'no-such-hash']), /Digest method not supported|Invalid digest/);
  assert.throws(() => createDigester('no-such-hash'));
  return pool.close();
});

test('hash workers: an aborted job rejects its waiters and leaves the threads free', async () => {
  const pool = createHashWorkerPool();
  try {
    const job = pool.start(['md5', 'sha512'], { slotBytes: 1024, slots: 1 });
    pool.hold(true);
    assert.equal(job.update(Buffer.alloc(1024)), undefined, 'the free slot takes the chunk at once');
    const waiting = job.update(Buffer.alloc(1024));
    assert.ok(waiting);
    const reason = new Error('client gone');
    job.abort(reason);
    await assert.rejects(waiting, (err) => err === reason);
    await assert.rejects(job.digest(), (err) => err === reason);
    job.abort();
    pool.hold(false);
    // The same threads serve the next job at once.
    const data = randomBytes(50_000);
    const next = pool.start(['md5', 'sha512'], { slotBytes: 4096, slots: 2 });
    await feed(next, data, 3000);
    assert.deepEqual(await next.digest(), [hex('md5', data), hex('sha512', data)]);
  } finally {
    await pool.close();
  }
});

test('hash workers: a ring reused right after an abort gives the next job the right digests', async () => {
  const pool = createHashWorkerPool();
  try {
    for (let round = 0; round < 5; round++) {
      const dropped = pool.start(['md5', 'sha512'], { slotBytes: 1024, slots: 4 });
      // Four slots queued on the threads, then abandoned while they are still in the queue
      // (held) or being hashed (released at once).
      pool.hold(round % 2 === 0);
      assert.equal(dropped.update(randomBytes(4096)), undefined);
      dropped.abort();
      pool.hold(false);
      const data = randomBytes(20_000);
      const next = pool.start(['md5', 'sha512'], { slotBytes: 1024, slots: 4 });
      await feed(next, data, 3000);
      assert.deepEqual(await next.digest(), [hex('md5', data), hex('sha512', data)]);
    }
  } finally {
    await pool.close();
  }
});

test('hash workers: a thread that dies fails the running job, and the pool recovers', async () => {
  const pool = createHashWorkerPool();
  try {
    const job = pool.start(['md5', 'sha512'], { slotBytes: 1024, slots: 2 });
    assert.equal(job.update(Buffer.alloc(100)), undefined, 'the free slot takes the chunk at once');
    // close() terminates the threads under the running job.
    await pool.close();
    await assert.rejects(job.digest(), /Hashing thread exited/);
    const data = randomBytes(10_000);
    const next = pool.start(['md5', 'sha512']);
    await feed(next, data, 4096);
    assert.deepEqual(await next.digest(), [hex('md5', data), hex('sha512', data)]);
  } finally {
    await pool.close();
  }
});

test('digester: small data is hashed inline, larger data on the threads, same digests', async () => {
  const pool = createHashWorkerPool();
  try {
    for (const size of [0, 100, 4096, 4097, 100_000]) {
      const data = randomBytes(size);
      const digester = createDigester('sha512', { pool, inlineBytes: 4096, ring: { slotBytes: 8192, slots: 2 } });
      for (let at = 0; at < size; at += 1500) {
        const wait = digester.update(data.subarray(at, at + 1500));
        if (wait) await wait;
      }
      assert.deepEqual(await digester.digest(), { md5: hex('md5', data), multihash: hex('sha512', data) }, `size ${size}`);
    }
  } finally {
    await pool.close();
  }
});
