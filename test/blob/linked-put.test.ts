/**
 * Linked puts (src/blob/blob-store.ts putLinked): a whole file read from one filesystem store and
 * put into another on the same filesystem becomes the new object by a hard link, and a transfer
 * thread reads it once for the digests and the format inspector. Real files, real threads; the
 * API test (test/api/direct-transfer.test.ts) covers the glance-direct import that uses it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBlobStore, type BlobTrace } from '../../src/blob/blob-store.js';
import { localFileOf, type BlobDriver } from '../../src/blob/blob-driver.js';
import { createFilesystemDriver, type FilesystemDriver } from '../../src/blob/drivers/filesystem-driver.js';
import { createTransferPool } from '../../src/blob/fd-transfer.js';
import { createUploadCheck } from '../../src/format/upload-check.js';
import { Invalid } from '../../src/domain/errors.js';
import type { BlobStore } from '../../src/domain/ports.js';
import { readAll, sourceOf } from '../helpers/blob-streams.js';

const MiB = 1024 * 1024;
const ID = '5b0f2c1e-9d3a-4f6b-8e21-0a7c4d9e3b12';
const CAP = 1024 * MiB;
const root = mkdtempSync(join(tmpdir(), 'iris-linked-put-'));
const pool = createTransferPool({ threads: 2, idleMs: 60_000 });
after(async () => {
  await pool.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A staging store holding `data` under ID, and a target store beside it (same filesystem unless `targetDir`). */
async function setup(data: Buffer, targetDir?: string, wrap: (d: FilesystemDriver) => BlobDriver = (d) => d) {
  n += 1;
  const stagingDriver = createFilesystemDriver({ dir: join(root, `staging-${n}`) });
  const staging = createBlobStore({ driver: stagingDriver });
  await staging.put(ID, sourceOf(data, MiB), { sizeCap: CAP, hashAlgo: null });
  const traces: BlobTrace[] = [];
  const targetPath = targetDir ?? join(root, `images-${n}`);
  const target = createBlobStore({
    driver: wrap(createFilesystemDriver({ dir: targetPath })),
    transfers: pool,
    trace: (fields) => traces.push(fields),
  });
  return { staging, stagedFile: stagingDriver.fileOf(ID), stagedLocation: stagingDriver.locationOf(ID), target, targetPath, traces };
}

function digest(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

async function open(store: BlobStore, location: string) {
  return (await store.get(location)).stream;
}

test('a whole file of a filesystem store is linked into another on the same filesystem, hashed once on a thread', async () => {
  const data = randomBytes(3 * MiB + 5);
  const s = await setup(data);
  const source = await open(s.staging, s.stagedLocation);
  assert.ok(localFileOf(source), 'the filesystem driver marks a whole-file read');
  const before = pool.stats().digest;
  const blob = await s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
  source.destroy();
  assert.deepEqual(blob, {
    location: `file://${s.targetPath}/${ID}`,
    store: 'file',
    size: data.length,
    checksum: digest('md5', data),
    os_hash_algo: 'sha512',
    os_hash_value: digest('sha512', data),
  });
  assert.equal(pool.stats().digest, before + 1);
  assert.equal(statSync(join(s.targetPath, ID)).ino, statSync(s.stagedFile).ino, 'the same file');
  assert.deepEqual(readdirSync(join(s.targetPath, '.tmp')), [], 'no temp link left');
  assert.equal(s.traces.find((t) => t.op === 'put')?.linked, true);
  // Dropping the staged name leaves the store's object whole.
  await s.staging.delete(s.stagedLocation);
  assert.ok(readFileSync(join(s.targetPath, ID)).equals(data));
  assert.equal(statSync(join(s.targetPath, ID)).nlink, 1);
});

test('a ranged read is not a whole file: it is copied', async () => {
  const data = randomBytes(3 * MiB);
  const s = await setup(data);
  const ranged = (await s.staging.get(s.stagedLocation, { range: { start: 0, end: data.length - 1 } })).stream;
  assert.equal(localFileOf(ranged), undefined);
  const blob = await s.target.put(ID, ranged, { sizeCap: CAP, hashAlgo: 'sha512' });
  assert.equal(blob.checksum, digest('md5', data));
  assert.notEqual(statSync(join(s.targetPath, ID)).ino, statSync(s.stagedFile).ino);
});

test('the format inspector runs on the thread: a refused file is not linked, and the staged file stays', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  const check = createUploadCheck({ diskFormat: 'qcow2', containerFormat: 'bare' }, { requireImageFormatMatch: true, gptSafetyChecksNonfatal: [] });
  const source = await open(s.staging, s.stagedLocation);
  await assert.rejects(s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512', observer: check.observer }), Invalid);
  source.destroy();
  assert.deepEqual(readdirSync(s.targetPath).filter((f) => f !== '.tmp'), []);
  assert.deepEqual(readdirSync(join(s.targetPath, '.tmp')), []);
  assert.equal(s.traces.find((t) => t.op === 'put')?.linked, true);
  assert.ok(readFileSync(s.stagedFile).equals(data));
});

test('an accepted format gets its virtual size from the thread', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  const check = createUploadCheck({ diskFormat: 'raw', containerFormat: 'bare' }, { requireImageFormatMatch: true, gptSafetyChecksNonfatal: [] });
  const source = await open(s.staging, s.stagedLocation);
  await s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha256', observer: check.observer });
  source.destroy();
  assert.equal(check.virtualSize(), data.length);
});

test('an abort fails the put with its reason and removes the link', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  const abort = new AbortController();
  const source = await open(s.staging, s.stagedLocation);
  const put = s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512', signal: abort.signal });
  // After the put's checks, before the thread has read anything (the put waits for its thread).
  abort.abort(new Invalid('Image has been deleted, aborting import.'));
  await assert.rejects(put, /aborting import/);
  source.destroy();
  assert.equal(s.traces.find((t) => t.op === 'put')?.linked, true, 'the abort reached the linked put');
  assert.deepEqual(readdirSync(s.targetPath).filter((f) => f !== '.tmp'), []);
  assert.deepEqual(readdirSync(join(s.targetPath, '.tmp')), []);
});

test('a stream something has already read from is copied from where it stands, not linked', async () => {
  const data = randomBytes(3 * MiB);
  const s = await setup(data);
  const source = await open(s.staging, s.stagedLocation);
  const first = await new Promise<Buffer>((resolve) => source.once('data', (chunk: Buffer) => (source.pause(), resolve(chunk))));
  const blob = await s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
  source.destroy();
  assert.equal(blob.size, data.length - first.length);
  assert.equal(blob.checksum, digest('md5', data.subarray(first.length)));
  assert.notEqual(statSync(join(s.targetPath, ID)).ino, statSync(s.stagedFile).ino);
  assert.equal(s.traces.filter((t) => t.linked).length, 0);
});

test('over the size cap or unlike the expected size: the streaming path answers, nothing linked', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  let source = await open(s.staging, s.stagedLocation);
  await assert.rejects(s.target.put(ID, source, { sizeCap: MiB + 1, hashAlgo: 'sha512' }), { name: 'TooLarge' });
  source.destroy();
  source = await open(s.staging, s.stagedLocation);
  await assert.rejects(s.target.put(ID, source, { sizeCap: CAP, expectedSize: data.length + 1, hashAlgo: 'sha512' }), Invalid);
  source.destroy();
  assert.equal(s.traces.filter((t) => t.linked).length, 0);
  assert.deepEqual(readdirSync(s.targetPath).filter((f) => f !== '.tmp'), []);
});

test('a store on another filesystem copies the bytes (the link is refused with EXDEV)', async (t) => {
  const data = randomBytes(2 * MiB);
  const elsewhere = mkdtempSync('/dev/shm/iris-linked-put-');
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const sameDevice = statSync(elsewhere).dev === statSync(root).dev;
  // Where /dev/shm shares the filesystem, a driver that cannot link stands in for EXDEV.
  const s = await setup(data, elsewhere, (d) => (sameDevice ? { ...d, linkFile: async () => null } : d));
  if (sameDevice) t.diagnostic('/dev/shm is on the same filesystem here: the refusal is simulated');
  const before = pool.stats().digest;
  const source = await open(s.staging, s.stagedLocation);
  const blob = await s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
  source.destroy();
  assert.equal(blob.os_hash_value, digest('sha512', data));
  assert.notEqual(statSync(join(elsewhere, ID)).ino, statSync(s.stagedFile).ino);
  assert.equal(pool.stats().digest, before, 'no thread read it');
  assert.deepEqual(readdirSync(join(elsewhere, '.tmp')), []);
});

test('the link is checked against the open file: a path replaced since the open is copied from the open file', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  const source = await open(s.staging, s.stagedLocation);
  // Another file now sits at the staged path; the open descriptor still reads the first one.
  rmSync(s.stagedFile);
  writeFileSync(s.stagedFile, randomBytes(2 * MiB));
  const blob = await s.target.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
  assert.equal(blob.checksum, digest('md5', data));
  assert.ok(readFileSync(join(s.targetPath, ID)).equals(data));
  assert.notEqual(statSync(join(s.targetPath, ID)).ino, statSync(s.stagedFile).ino);
  assert.deepEqual(readdirSync(join(s.targetPath, '.tmp')), []);
});

test('without transfer threads the file is copied', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  const plain = createBlobStore({ driver: createFilesystemDriver({ dir: join(root, 'plain') }) });
  const source = await open(s.staging, s.stagedLocation);
  const blob = await plain.put(ID, source, { sizeCap: CAP, hashAlgo: 'sha512' });
  assert.equal(blob.checksum, digest('md5', data));
  assert.notEqual(statSync(join(root, 'plain', ID)).ino, statSync(s.stagedFile).ino);
  assert.ok((await readAll((await plain.get(blob.location)).stream)).equals(data));
});

test('a descriptor that is not open (its stream closed it) fails the link, and no temp link stays', async () => {
  const data = randomBytes(2 * MiB);
  const s = await setup(data);
  const targetPath = join(root, `closed-fd-${n}`);
  const driver = createFilesystemDriver({ dir: targetPath });
  // Far above any descriptor this process has open: fstat answers EBADF.
  const fd = 1_000_000;
  await assert.rejects(driver.linkFile!(ID, { path: s.stagedFile, fd, size: data.length }), (err: Error) => {
    assert.match(`${err.message} ${String(err.cause)}`, /EBADF|bad file descriptor/i);
    return true;
  });
  assert.deepEqual(readdirSync(join(targetPath, '.tmp')), []);
  assert.equal(statSync(s.stagedFile).nlink, 1);
});
