/**
 * The flushing writer and the filesystem driver's durable write: data complete and in order with
 * tiny batches and flush intervals, flushes while writing, fsync before the rename, directory
 * fsync after it, and no temp file left by an abort or a failing source.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, fstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeAndFlush } from './flushing-file-writer.js';
import { createFilesystemDriver } from './filesystem-driver.js';

const root = mkdtempSync(join(tmpdir(), 'iris-flushing-writer-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** `data` in chunks of uneven sizes (so batches split chunks), as an HTTP body arrives. */
function chunked(data: Buffer, sizes = [700, 1300, 64, 4096]): Readable {
  const chunks: Buffer[] = [];
  for (let o = 0, i = 0; o < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    chunks.push(data.subarray(o, o + n));
    o += n;
  }
  return Readable.from(chunks, { objectMode: false });
}

/** Counts the handle's flushes, forwarding everything to the real handle. */
function counting(handle: FileHandle): { handle: FileHandle; datasyncs: () => number; syncs: () => number; firstFlushAt: () => number | undefined } {
  let datasyncs = 0;
  let syncs = 0;
  let written = 0;
  let firstFlushAt: number | undefined;
  const proxy = new Proxy(handle, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return async (buffer: Buffer, offset: number, length: number, position: number) => {
          const result = await target.write(buffer, offset, length, position);
          written += result.bytesWritten;
          return result;
        };
      }
      if (prop === 'datasync') {
        return () => {
          datasyncs++;
          firstFlushAt ??= written;
          return target.datasync();
        };
      }
      if (prop === 'sync') return () => (syncs++, target.sync());
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { handle: proxy, datasyncs: () => datasyncs, syncs: () => syncs, firstFlushAt: () => firstFlushAt };
}

test('writes every byte in order with batches that split chunks, flushing as it goes and fsyncing at the end', async () => {
  const data = randomBytes(100_000);
  const path = join(root, 'a.bin');
  const real = await open(path, 'wx');
  const c = counting(real);
  try {
    const bytes = await writeAndFlush(c.handle, chunked(data), { batchBytes: 3000, flushBytes: 10_000 });
    assert.equal(bytes, data.length);
  } finally {
    await real.close();
  }
  assert.ok(readFileSync(path).equals(data), 'file content equals the source');
  // How many flushes run depends on the disk's speed (one at a time); that the first starts
  // once a flush interval is written, long before the end, does not.
  assert.ok(c.datasyncs() >= 1, 'flushed while writing');
  const first = c.firstFlushAt();
  assert.ok(first !== undefined && first >= 10_000 && first < data.length, `first fdatasync after ${first} of ${data.length} bytes`);
  assert.equal(c.syncs(), 1, 'one fsync at the end');
});

test('chunks larger than both batch buffers together arrive whole and in order', async () => {
  const data = randomBytes(200_003);
  const path = join(root, 'big-chunks.bin');
  const real = await open(path, 'wx');
  try {
    // 10 KB chunks into 1 KiB batches: each chunk waits for several writes before it is all taken.
    const bytes = await writeAndFlush(real, chunked(data, [10_000, 17, 33_333]), { batchBytes: 1024, flushBytes: 0 });
    assert.equal(bytes, data.length);
  } finally {
    await real.close();
  }
  assert.ok(readFileSync(path).equals(data), 'file content equals the source');
});

test('flushBytes 0 flushes once, at the end', async () => {
  const data = randomBytes(50_000);
  const path = join(root, 'b.bin');
  const real = await open(path, 'wx');
  const c = counting(real);
  try {
    await writeAndFlush(c.handle, chunked(data), { batchBytes: 4096, flushBytes: 0 });
  } finally {
    await real.close();
  }
  assert.ok(readFileSync(path).equals(data));
  assert.equal(c.datasyncs(), 0);
  assert.equal(c.syncs(), 1);
});

test('an empty source gives an empty, synced file', async () => {
  const path = join(root, 'empty.bin');
  const real = await open(path, 'wx');
  try {
    assert.equal(await writeAndFlush(real, Readable.from([]), { batchBytes: 4096, flushBytes: 1 }), 0);
  } finally {
    await real.close();
  }
  assert.equal(readFileSync(path).length, 0);
});

test('driver: the file is fsynced before the rename and the directory after it', async (t) => {
  const dir = join(root, 'store-order');
  const driver = createFilesystemDriver({ dir, chunkSize: 4096, flushBytes: 8192 });
  const data = randomBytes(70_000);
  const finalPath = join(dir, 'image-1');
  const events: string[] = [];
  // Every FileHandle's sync, recorded with what it synced and whether the final name existed yet.
  const probe = await open(join(root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: (this: FileHandle) => Promise<void> };
  await probe.close();
  const realSync = proto.sync;
  t.after(() => {
    proto.sync = realSync;
  });
  proto.sync = function (this: FileHandle) {
    const kind = fstatSync(this.fd).isDirectory() ? 'dir' : 'file';
    events.push(`${kind} sync, renamed=${existsSync(finalPath)}`);
    return realSync.call(this);
  };
  const { location, bytes } = await driver.write('image-1', chunked(data));
  assert.equal(bytes, data.length);
  assert.equal(location, `file://${dir}/image-1`);
  assert.deepEqual(events, ['file sync, renamed=false', 'dir sync, renamed=true']);
  assert.ok(readFileSync(finalPath).equals(data));
  assert.deepEqual(readdirSync(join(dir, '.tmp')), [], 'no temp file left');
});

test('driver: an abort mid-write rejects and leaves no temp file and no image', async () => {
  const dir = join(root, 'store-abort');
  const driver = createFilesystemDriver({ dir, chunkSize: 1024, flushBytes: 2048 });
  const controller = new AbortController();
  let sent = 0;
  // Sends 16 KiB, aborts, then would send forever: only the abort can end the write.
  const source = new Readable({
    read() {
      sent += 4096;
      if (sent === 16 * 1024) setImmediate(() => controller.abort());
      if (sent <= 16 * 1024) this.push(randomBytes(4096));
    },
  });
  await assert.rejects(driver.write('image-2', source, { signal: controller.signal }), { name: 'AbortError' });
  assert.ok(source.destroyed, 'the source was destroyed');
  assert.deepEqual(readdirSync(join(dir, '.tmp')), []);
  assert.equal(existsSync(join(dir, 'image-2')), false);
});

test('driver: a source that fails mid-write rejects with its error and leaves nothing', async () => {
  const dir = join(root, 'store-fail');
  const driver = createFilesystemDriver({ dir, chunkSize: 1024, flushBytes: 2048 });
  const boom = new Error('client went away');
  async function* failing() {
    for (let i = 0; i < 8; i++) yield randomBytes(1500);
    throw boom;
  }
  await assert.rejects(driver.write('image-3', Readable.from(failing())), boom);
  assert.deepEqual(readdirSync(join(dir, '.tmp')), []);
  assert.equal(existsSync(join(dir, 'image-3')), false);
});
