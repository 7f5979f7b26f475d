import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { currentWriter } from '../src/blob/writer-identity.js';
import { createBlobStore, type BlobTrace } from '../src/blob/blob-store.js';
import type { BlobDriver, StagingObject } from '../src/blob/blob-driver.js';
import { createFilesystemDriver } from '../src/blob/drivers/filesystem-driver.js';
import { Gone, Invalid, IrisError, NotFound, TooLarge } from '../src/domain/errors.js';
import type { BlobStore, StoredBlob } from '../src/domain/ports.js';
import { eventually, readAll, sourceOf, stallingSource } from './helpers/blob-streams.js';

const ID = '0c8a2b4e-3f6d-4a51-9e27-7d1b5c9f4a10';
const CAP = 1024 * 1024 * 1024;

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

async function withStore(body: (blobs: BlobStore, dir: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'iris-blob-store-'));
  const dir = join(root, 'images');
  try {
    await body(createBlobStore({ driver: createFilesystemDriver({ dir }) }), dir);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function digest(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

test('blob store: put returns the location, size and checksums of the data', () =>
  withStore(async (blobs, dir) => {
    const data = randomBytes(5 * 1024 * 1024 + 7);
    const blob: StoredBlob = await blobs.put(ID, sourceOf(data, 65_536), { sizeCap: CAP, hashAlgo: 'sha512' });
    assert.deepEqual(blob, {
      location: `file://${dir}/${ID}`,
      store: 'file',
      size: data.length,
      checksum: digest('md5', data),
      os_hash_algo: 'sha512',
      os_hash_value: digest('sha512', data),
    });
    const { stream, size } = await blobs.get(blob.location);
    assert.equal(size, data.length);
    assert.ok((await readAll(stream)).equals(data));
    assert.deepEqual(await listFiles(dir), [ID]);
  }));

test('blob store: the multihash follows hashAlgo', () =>
  withStore(async (blobs) => {
    const data = randomBytes(1000);
    const blob = await blobs.put(ID, sourceOf(data), { sizeCap: CAP, hashAlgo: 'sha256', expectedSize: 1000 });
    assert.equal(blob.os_hash_algo, 'sha256');
    assert.equal(blob.os_hash_value, digest('sha256', data));
  }));

test('blob store: empty data has the digests of nothing', () =>
  withStore(async (blobs) => {
    const blob = await blobs.put(ID, sourceOf(Buffer.alloc(0)), { sizeCap: CAP, hashAlgo: 'sha512', expectedSize: 0 });
    assert.equal(blob.size, 0);
    assert.equal(blob.checksum, 'd41d8cd98f00b204e9800998ecf8427e');
    assert.equal(blob.os_hash_value, digest('sha512', Buffer.alloc(0)));
  }));

test('blob store: hashAlgo null stores the bytes with no digests and still enforces every size rule (the staging store)', () =>
  withStore(async (blobs, dir) => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const blob = await blobs.put(ID, sourceOf(data, 65_536), { sizeCap: CAP, hashAlgo: null, expectedSize: data.length });
    assert.deepEqual(blob, { location: `file://${dir}/${ID}`, store: 'file', size: data.length, checksum: null, os_hash_algo: null, os_hash_value: null });
    assert.ok((await readAll((await blobs.get(blob.location)).stream)).equals(data));
    await blobs.delete(blob.location);
    await assert.rejects(blobs.put(ID, sourceOf(randomBytes(300_000), 10_000), { sizeCap: 100_000, hashAlgo: null }), TooLarge);
    await assert.rejects(
      blobs.put(ID, sourceOf(randomBytes(2000), 500), { sizeCap: CAP, hashAlgo: null, expectedSize: 1000 }),
      (err) => err instanceof Invalid && /longer than the declared Content-Length/.test(err.message),
    );
    await assert.rejects(
      blobs.put(ID, sourceOf(randomBytes(1000)), { sizeCap: CAP, hashAlgo: null, expectedSize: 2000 }),
      (err) => err instanceof Invalid && err.message === 'Image data is shorter than the declared Content-Length',
    );
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: data of exactly sizeCap bytes is accepted', () =>
  withStore(async (blobs) => {
    const blob = await blobs.put(ID, sourceOf(randomBytes(4096), 1000), { sizeCap: 4096, hashAlgo: 'sha512' });
    assert.equal(blob.size, 4096);
  }));

test('blob store: data over sizeCap is TooLarge, leaves nothing and the source intact', () =>
  withStore(async (blobs, dir) => {
    const source = sourceOf(randomBytes(300_000), 10_000);
    await assert.rejects(blobs.put(ID, source, { sizeCap: 100_000, hashAlgo: 'sha512' }), TooLarge);
    assert.deepEqual(await listFiles(dir), []);
    // The caller owns the source: it may still need the connection to answer 413.
    assert.equal(source.destroyed, false);
    source.destroy();
  }));

test('blob store: data longer than expectedSize is Invalid and leaves nothing', () =>
  withStore(async (blobs, dir) => {
    await assert.rejects(
      blobs.put(ID, sourceOf(randomBytes(2000), 500), { sizeCap: CAP, hashAlgo: 'sha512', expectedSize: 1000 }),
      (err) => err instanceof Invalid && /longer than the declared Content-Length/.test(err.message),
    );
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: data shorter than expectedSize is Invalid and leaves nothing', () =>
  withStore(async (blobs, dir) => {
    await assert.rejects(
      blobs.put(ID, sourceOf(randomBytes(1000)), { sizeCap: CAP, hashAlgo: 'sha512', expectedSize: 2000 }),
      (err) => err instanceof Invalid && err.message === 'Image data is shorter than the declared Content-Length',
    );
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: a source error is Invalid (client gone) and leaves nothing', () =>
  withStore(async (blobs, dir) => {
    const source = stallingSource(randomBytes(100_000));
    const putting = blobs.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
    await eventually(async () => (await listFiles(dir)).length > 0, 'the staging file');
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    source.destroy(reset);
    await assert.rejects(putting, (err) => {
      assert.ok(err instanceof Invalid);
      assert.equal(err.message, 'Client disconnected before sending all image data');
      assert.equal(err.cause, reset);
      return true;
    });
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: a source closed before its end is Invalid and leaves nothing', () =>
  withStore(async (blobs, dir) => {
    const source = stallingSource(randomBytes(100_000));
    const putting = blobs.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
    await eventually(async () => (await listFiles(dir)).length > 0, 'the staging file');
    source.destroy();
    await assert.rejects(putting, Invalid);
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: a domain error from the source is kept as it is', () =>
  withStore(async (blobs, dir) => {
    const source = stallingSource(randomBytes(10));
    const putting = blobs.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
    const quota = new TooLarge('Image exceeds the storage quota');
    source.destroy(quota);
    await assert.rejects(putting, (err) => err === quota);
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: an abort mid-upload rejects with AbortError and leaves nothing', () =>
  withStore(async (blobs, dir) => {
    const controller = new AbortController();
    const source = stallingSource(randomBytes(100_000));
    const putting = blobs.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512', signal: controller.signal });
    await eventually(async () => (await listFiles(dir)).length > 0, 'the staging file');
    controller.abort();
    await assert.rejects(putting, { name: 'AbortError' });
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: an abort whose reason is a domain error rejects with that error', () =>
  withStore(async (blobs, dir) => {
    const controller = new AbortController();
    const source = stallingSource(randomBytes(100_000));
    const putting = blobs.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512', signal: controller.signal });
    await eventually(async () => (await listFiles(dir)).length > 0, 'the staging file');
    const reason = new Invalid('Client disconnected before sending all image data');
    controller.abort(reason);
    await assert.rejects(putting, (err) => err === reason);
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: an unknown hash algorithm fails before anything is written', () =>
  withStore(async (blobs, dir) => {
    await assert.rejects(blobs.put(ID, sourceOf(randomBytes(10)), { sizeCap: CAP, hashAlgo: 'no-such-hash' }));
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: a driver error (bad key) is rethrown and the source is left alone', () =>
  withStore(async (blobs, dir) => {
    const source = sourceOf(randomBytes(10_000_000));
    await assert.rejects(blobs.put('../escape', source, { sizeCap: CAP, hashAlgo: 'sha512' }), Invalid);
    assert.equal(source.destroyed, false);
    source.destroy();
    assert.deepEqual(await listFiles(dir), []);
  }));

test('blob store: get with a range, delete is idempotent, unknown schemes are Invalid', () =>
  withStore(async (blobs) => {
    const data = randomBytes(10_000);
    const { location } = await blobs.put(ID, sourceOf(data), { sizeCap: CAP, hashAlgo: 'sha512' });
    const { stream, size } = await blobs.get(location, { range: { start: 100, end: 199 } });
    assert.equal(size, data.length);
    assert.ok((await readAll(stream)).equals(data.subarray(100, 200)));
    await blobs.delete(location);
    await blobs.delete(location);
    await assert.rejects(blobs.get(location), NotFound);
    await assert.rejects(blobs.get('swift://container/object'), Invalid);
    await assert.rejects(blobs.get('no-scheme'), Invalid);
    await assert.rejects(blobs.delete('s3://bucket/key'), Invalid);
  }));

test('blob store: sweep removes staging files of the default store', () =>
  withStore(async (blobs, dir) => {
    await mkdir(join(dir, '.tmp'), { recursive: true });
    await writeFile(join(dir, '.tmp', `${ID}.0123456789abcdef`), 'partial');
    assert.equal(await blobs.sweep(), 1);
    assert.deepEqual(await listFiles(dir), []);
  }));

/** A driver that records every call and fails the test if written to (for checks made before any driver call). */
function recordingDriver(calls: string[], over: Partial<BlobDriver> = {}): BlobDriver {
  const record = (name: string) => async (): Promise<never> => {
    calls.push(name);
    throw new Error(`driver.${name} called`);
  };
  return {
    scheme: 'rec',
    capabilities: { writable: true, rangedReads: true },
    write: record('write'),
    read: record('read'),
    delete: record('delete'),
    listStaging: record('listStaging'),
    removeStaging: record('removeStaging'),
    ...over,
  };
}

test('blob store: a key that is not one safe path segment is refused before any driver call', async () => {
  const calls: string[] = [];
  const blobs = createBlobStore({ driver: recordingDriver(calls) });
  for (const key of ['', '.', '..', '.hidden', 'a/b', '../etc', 'a\\b', 'x\0y', 'new\nline', 'k'.repeat(201)]) {
    const source = sourceOf(randomBytes(10));
    await assert.rejects(blobs.put(key, source, { sizeCap: CAP, hashAlgo: 'sha512' }), Invalid, JSON.stringify(key));
    assert.equal(source.readableFlowing, null, 'the source is not read');
  }
  assert.deepEqual(calls, []);
});

test('blob store: a read-only store refuses uploads as Glance (410 StoreAddDisabled) without reading the body', async () => {
  const calls: string[] = [];
  const blobs = createBlobStore({ driver: recordingDriver(calls, { capabilities: { writable: false, rangedReads: true } }) });
  const source = sourceOf(randomBytes(10));
  await assert.rejects(blobs.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' }), (err: unknown) => {
    assert.ok(err instanceof Gone);
    assert.equal(err.message, 'Error in store configuration. Adding images to store is disabled.');
    return true;
  });
  assert.deepEqual(calls, []);
});

test('blob store: sweep removes only partial writes older than partial_write_max_age, in writable stores', async () => {
  const now = Date.parse('2026-12-06T10:00:00Z');
  const removed: string[] = [];
  const staging = (id: string, ageMs: number): StagingObject => ({ id, key: id, modifiedAt: new Date(now - ageMs) });
  const driver = recordingDriver([], {
    listStaging: async () => [staging('old', 3_600_001), staging('edge', 3_600_000), staging('young', 3_599_999)],
    removeStaging: async (id: string) => {
      removed.push(id);
    },
  });
  const readOnly = recordingDriver([], { scheme: 'ro', capabilities: { writable: false, rangedReads: true } });
  const traces: BlobTrace[] = [];
  const blobs = createBlobStore({
    backends: [{ id: 'a', driver }, { id: 'web', driver: readOnly }],
    partialWriteMaxAgeMs: 3_600_000,
    now: () => now,
    trace: (fields) => traces.push(fields),
  });
  assert.equal(await blobs.sweep(), 2);
  // Another node's write in progress (younger than the threshold) is left alone.
  assert.deepEqual(removed, ['old', 'edge']);
  assert.deepEqual(traces.map((t) => [t.op, t.image, t.store]), [['sweep', 'old', 'a'], ['sweep', 'edge', 'a']]);
});

test('blob store: a young partial write of a gone process of this node is removed, a live one kept', async () => {
  const now = Date.parse('2026-12-06T10:00:00Z');
  const me = currentWriter();
  const gone = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const removed: string[] = [];
  const young = new Date(now - 1000);
  const driver = recordingDriver([], {
    listStaging: async () => [
      { id: 'crashed', key: 'a', modifiedAt: young, writer: { node: me.node, pid: gone } },
      { id: 'live', key: 'b', modifiedAt: young, writer: me },
      { id: 'unknown', key: 'c', modifiedAt: young },
    ],
    removeStaging: async (id: string) => {
      removed.push(id);
    },
  });
  const blobs = createBlobStore({ driver, partialWriteMaxAgeMs: 86_400_000, now: () => now });
  assert.equal(await blobs.sweep(), 1);
  assert.deepEqual(removed, ['crashed']);
});

test('blob store: a store that cannot be listed at start is reported and skipped, the others still swept', async () => {
  const now = Date.parse('2026-12-06T10:00:00Z');
  const removed: string[] = [];
  const down = recordingDriver([], {
    listStaging: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:8080');
    },
  });
  const up = recordingDriver([], {
    listStaging: async () => [{ id: 'old', key: 'old', modifiedAt: new Date(now - 7_200_000) }],
    removeStaging: async (id: string) => {
      removed.push(id);
    },
  });
  const reports: Array<[string, unknown, Readonly<Record<string, unknown>>]> = [];
  const blobs = createBlobStore({
    backends: [{ id: 'objects', driver: down }, { id: 'local', driver: up }],
    partialWriteMaxAgeMs: 3_600_000,
    now: () => now,
    onCleanupError: (message, error, extra) => reports.push([message, error, extra]),
  });
  assert.equal(await blobs.sweep(), 1);
  assert.deepEqual(removed, ['old']);
  assert.equal(reports.length, 1);
  assert.deepEqual(reports[0]![2], { store: 'objects' });
  assert.match(String((reports[0]![1] as Error).message), /ECONNREFUSED/);
});

test('blob store: close closes every store that holds connections; a failing one is reported, the others still closed', async () => {
  const closed: string[] = [];
  const closing = (scheme: string, fail: boolean): BlobDriver =>
    recordingDriver([], {
      scheme,
      close: async () => {
        closed.push(scheme);
        if (fail) throw new Error(`${scheme}: shutdown failed`);
      },
    });
  const reports: Array<Readonly<Record<string, unknown>>> = [];
  const blobs = createBlobStore({
    backends: [
      { id: 'ceph', driver: closing('rbd', true) },
      { id: 'local', driver: recordingDriver([], { scheme: 'file' }) },
      { id: 'objects', driver: closing('swift', false) },
    ],
    onCleanupError: (_message, _error, extra) => reports.push(extra),
  });
  await blobs.close();
  assert.deepEqual(closed.sort(), ['rbd', 'swift']);
  assert.deepEqual(reports, [{ store: 'ceph' }]);
});

test('blob store: sweep on a real filesystem store keeps a young temp file, removes an old one', () =>
  withStore(async (_blobs, dir) => {
    await mkdir(join(dir, '.tmp'), { recursive: true });
    await writeFile(join(dir, '.tmp', `${ID}.0123456789abcdef`), 'old');
    await writeFile(join(dir, '.tmp', `${ID}.fedcba9876543210`), 'young');
    const old = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(dir, '.tmp', `${ID}.0123456789abcdef`), old, old);
    const blobs = createBlobStore({ driver: createFilesystemDriver({ dir }), partialWriteMaxAgeMs: 86_400_000 });
    assert.equal(await blobs.sweep(), 1);
    assert.deepEqual(await listFiles(dir), [`.tmp/${ID}.fedcba9876543210`]);
  }));

test('blob store: traces put, get and delete with image id, store, bytes and ms, never the location', () =>
  withStore(async (_unused, dir) => {
    const traces: Array<[BlobTrace, string]> = [];
    const blobs = createBlobStore({
      backends: [{ id: 'local', driver: createFilesystemDriver({ dir }) }],
      trace: (fields, message) => traces.push([fields, message]),
    });
    const data = randomBytes(1000);
    const blob = await blobs.put(ID, sourceOf(data), { sizeCap: CAP, hashAlgo: 'sha512' });
    const { stream } = await blobs.get(blob.location, { range: { start: 10, end: 19 }, image: ID });
    assert.equal((await readAll(stream)).length, 10);
    if (!stream.closed) await once(stream, 'close');
    await blobs.delete(blob.location);
    await assert.rejects(blobs.put(ID, sourceOf(data), { sizeCap: 10, hashAlgo: 'sha512' }), TooLarge);
    const ops = traces.map(([f, m]) => [f.op, f.image, f.store, f.bytes, m]);
    assert.deepEqual(ops, [
      ['put', ID, 'local', 1000, 'blob written'],
      ['get', ID, 'local', 10, 'blob read'],
      ['delete', undefined, 'local', undefined, 'blob deleted'],
      ['put', ID, 'local', 1000, 'blob write failed'],
    ]);
    for (const [fields] of traces) {
      assert.equal(typeof fields.ms, 'number');
      assert.ok(!JSON.stringify(fields).includes(dir), 'no location in a trace');
    }
    assert.equal(traces[1]?.[0].complete, true);
    assert.equal(traces[3]?.[0].failed, 'TooLarge');
  }));

test('blob store: a driver with several schemes gets the locations of each', async () => {
  const read: string[] = [];
  const driver = recordingDriver([], {
    scheme: 'http',
    schemes: ['http', 'https'],
    capabilities: { writable: false, rangedReads: true },
    read: async (location: string) => {
      read.push(location);
      return { stream: Readable.from([]), size: 0 };
    },
  });
  const file = createFilesystemDriver({ dir: join(tmpdir(), 'unused') });
  const blobs = createBlobStore({ backends: [{ id: 'file', driver: file }, { id: 'http', driver }] });
  await blobs.get('https://example.com/a.img');
  await blobs.get('http://example.com/b.img');
  assert.deepEqual(read, ['https://example.com/a.img', 'http://example.com/b.img']);
});

test('blob store: two stores with one id, or an unknown default, are refused', () => {
  const driver = createFilesystemDriver({ dir: join(tmpdir(), 'unused') });
  assert.throws(() => createBlobStore({ backends: [{ id: 'a', driver }, { id: 'a', driver }] }));
  assert.throws(() => createBlobStore({ backends: [{ id: 'a', driver }], defaultBackend: 'b' }));
});

test('blob store: named stores take uploads where asked and read back by store id', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'iris-multistore-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const blobs = createBlobStore({
    backends: [
      { id: 'local', driver: createFilesystemDriver({ dir: join(root, 'local') }) },
      { id: 'fast', driver: createFilesystemDriver({ dir: join(root, 'fast') }) },
    ],
    defaultBackend: 'fast',
  });
  assert.equal(blobs.defaultStore, 'fast');
  assert.ok(blobs.has('local') && !blobs.has('nope'));
  const one = await blobs.put(ID, sourceOf(Buffer.from('one')), { sizeCap: CAP, hashAlgo: 'sha512' });
  const two = await blobs.put(ID, sourceOf(Buffer.from('two')), { sizeCap: CAP, hashAlgo: 'sha512', store: 'local' });
  assert.equal(one.store, 'fast');
  assert.equal(two.store, 'local');
  assert.deepEqual(await listFiles(join(root, 'fast')), [ID]);
  assert.deepEqual(await listFiles(join(root, 'local')), [ID]);
  assert.equal(String(await readAll((await blobs.get(two.location, { store: 'local' })).stream)), 'two');
  await assert.rejects(blobs.put(ID, sourceOf(Buffer.from('x')), { sizeCap: CAP, hashAlgo: 'sha512', store: 'nope' }), /Store for identifier nope not found/);
  await assert.rejects(blobs.get(two.location, { store: 'nope' }), Invalid);
  await blobs.delete(two.location, 'local');
  assert.deepEqual(await listFiles(join(root, 'local')), []);
});

// Over real HTTP: the reasons `put` leaves the request stream to its caller.
test('blob store over HTTP: the client receives 413 when the cap is exceeded, and 400-style errors on disconnect', () =>
  withStore(async (blobs, dir) => {
    const outcomes: unknown[] = [];
    const server = createServer((req, res) => {
      blobs.put(ID, req, { sizeCap: 1024 * 1024, hashAlgo: 'sha512' }).then(
        () => res.end('stored'),
        (err: unknown) => {
          outcomes.push(err);
          res.statusCode = err instanceof TooLarge ? 413 : err instanceof IrisError ? 400 : 500;
          // As an HTTP layer should after a failed upload: answer, then drop the connection
          // rather than read the rest of the body.
          res.setHeader('Connection', 'close');
          res.end(err instanceof Error ? err.message : 'error');
        },
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      // 1. Too large: 4 MiB against a 1 MiB cap; the response must arrive, not a reset.
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ port, host: '127.0.0.1', method: 'PUT', path: '/' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        // The server may close while we are still sending; that is expected after the 413.
        req.on('error', (err) => (err.message.includes('EPIPE') || (err as { code?: string }).code === 'ECONNRESET' ? undefined : reject(err)));
        Readable.from(Array.from({ length: 64 }, () => randomBytes(65_536))).pipe(req);
      });
      assert.equal(status, 413);
      assert.ok(outcomes[0] instanceof TooLarge);

      // 2. Client disconnects mid-upload: the put fails with Invalid and leaves nothing.
      const req = request({ port, host: '127.0.0.1', method: 'PUT', path: '/', headers: { 'Content-Length': '1000000' } });
      req.on('error', () => undefined);
      req.write(randomBytes(100_000));
      await eventually(async () => (await listFiles(dir)).length > 0, 'the staging file');
      req.destroy();
      await eventually(async () => outcomes.length === 2, 'the failed put');
      assert.ok(outcomes[1] instanceof Invalid, String(outcomes[1]));
      assert.equal((outcomes[1] as Invalid).message, 'Client disconnected before sending all image data');
      assert.deepEqual(await listFiles(dir), []);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }));

test('blob store: a committed blob that cannot be removed after a failed put is reported with the image id', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-blob-store-'));
  try {
    const real = createFilesystemDriver({ dir: join(root, 'images') });
    // A driver that miscounts (so the store must undo the commit) and cannot delete.
    const driver = {
      ...real,
      write: async (key: string, source: Readable, opts?: { readonly signal?: AbortSignal }) => {
        const written = await real.write(key, source, opts);
        return { ...written, bytes: written.bytes + 1 };
      },
      delete: async () => {
        throw new Error('EIO: delete failed');
      },
    };
    const reports: { message: string; error: unknown; extra: Readonly<Record<string, unknown>> }[] = [];
    const blobs = createBlobStore({ driver, onCleanupError: (message, error, extra) => reports.push({ message, error, extra }) });
    await assert.rejects(blobs.put(ID, sourceOf(Buffer.from('hello')), { sizeCap: CAP, hashAlgo: 'sha512' }), /stored 6 bytes of 5/);
    assert.equal(reports.length, 1);
    const report = reports[0]!;
    assert.match(report.message, /orphan left/);
    assert.equal(report.extra.image, ID);
    assert.equal(report.extra.location, `file://${join(root, 'images')}/${ID}`);
    assert.match(String(report.error), /EIO/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('blob store: inUse asks the driver of the location, and is false for drivers without dependants or locations no store handles', async () => {
  const asked: string[] = [];
  const withClones: BlobDriver = {
    ...createFilesystemDriver({ dir: join(tmpdir(), 'iris-never-written') }),
    scheme: 'rbd',
    inUse: async (location) => {
      asked.push(location);
      return location.endsWith('/cloned/snap');
    },
  };
  const blobs = createBlobStore({
    backends: [
      { id: 'local', driver: createFilesystemDriver({ dir: join(tmpdir(), 'iris-never-written-2') }) },
      { id: 'ceph', driver: withClones },
    ],
  });
  assert.equal(await blobs.inUse!('rbd://f/images/cloned/snap'), true);
  assert.equal(await blobs.inUse!('rbd://f/images/alone/snap', 'ceph'), false);
  assert.equal(await blobs.inUse!('file:///x/y', 'local'), false, 'no inUse on the driver');
  assert.equal(await blobs.inUse!('swift+http://elsewhere/c/o'), false, 'no store handles it');
  assert.equal(await blobs.inUse!('rbd://x', 'gone-store'), false, 'its store is not configured');
  assert.deepEqual(asked, ['rbd://f/images/cloned/snap', 'rbd://f/images/alone/snap']);
});
