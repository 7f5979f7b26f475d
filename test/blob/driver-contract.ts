/**
 * The contract every BlobDriver meets, as one suite each driver's test file registers against its
 * own backend (filesystem, swift, s3, http…). Sizes are expressed in the driver's chunk (a swift
 * segment, an s3 part, a buffer), so the edges of segmentation are what gets exercised.
 *
 * Writable drivers get the whole suite: round trips, every Range form, failed and aborted writes
 * leaving nothing, idempotent delete, concurrent writes, staging listing. A read-only driver
 * (`capabilities.writable === false`) gets the read half, on objects its `seed` puts in place.
 *
 * @example
 * describeDriverContract('filesystem', async () => {
 *   const dir = mkdtempSync(join(tmpdir(), 'contract-'));
 *   return { driver: createFilesystemDriver({ dir }), teardown: async () => rmSync(dir, { recursive: true }),
 *            listLeftovers: async () => listFiles(dir) };
 * });
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobDriver } from '../../src/blob/blob-driver.js';
import { Invalid, NotFound, RangeNotSatisfiable } from '../../src/domain/errors.js';
import { readAll, sourceOf } from '../helpers/blob-streams.js';

export { readAll, sourceOf };

/** One backend for the whole suite; every test uses keys of its own. */
export interface ContractFixture {
  readonly driver: BlobDriver;
  /**
   * The driver's unit of segmentation in bytes (swift segment, s3 part, large-object threshold):
   * the suite writes objects of 0, 1, chunk−1, chunk, chunk+1 and 3.5 chunks. Default 64 KiB.
   */
  readonly chunkSize?: number;
  /** Removes the backend and everything in it (also called when a test failed). */
  teardown(): Promise<void>;
  /**
   * Names of everything the backend holds: committed objects, segments, manifests, temp files,
   * pending multipart uploads. Every name must contain the key it was written for, so the suite
   * can tell its own leftovers apart on a shared backend. Without it the leftover checks are
   * skipped (loudly).
   */
  listLeftovers?(): Promise<string[]>;
  /** Read-only drivers: puts `data` in place out of band and returns its location. */
  seed?(key: string, data: Buffer): Promise<string>;
  /** Read-only drivers: a location of this driver where no object exists. */
  missingLocation?(key: string): string;
  /**
   * Locations the driver must refuse with Invalid, besides another scheme's (e.g. a file outside
   * the store directory, another account's container).
   */
  readonly foreignLocations?: readonly string[];
}

export interface ContractOptions {
  /** Concurrent writes in the concurrency test (default 4). */
  readonly concurrency?: number;
}

const DEFAULT_CHUNK = 64 * 1024;

/**
 * A source that delivers `data` and then stalls, like a client gone quiet mid-upload.
 * `drained` resolves once the consumer has taken all of `data` and asks for more.
 */
export function stallingSource(data: Buffer, piece = 64 * 1024): { source: Readable; drained: Promise<void> } {
  let at = 0;
  let resolveDrained!: () => void;
  const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
  const source = new Readable({
    read() {
      if (at < data.length) {
        this.push(data.subarray(at, at + piece));
        at += piece;
      } else {
        resolveDrained();
      }
    },
  });
  return { source, drained };
}

function digests(data: Buffer): { md5: string; sha256: string } {
  return {
    md5: createHash('md5').update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
  };
}

/**
 * Registers the contract tests for one driver under `describe(name)`. `setup` runs once before
 * them, `teardown` once after (also on failure).
 */
export function describeDriverContract(
  name: string,
  setup: () => Promise<ContractFixture>,
  opts: ContractOptions = {},
): void {
  describe(`${name} driver contract`, () => {
    let fx: ContractFixture;
    let chunk = DEFAULT_CHUNK;
    before(async () => {
      fx = await setup();
      chunk = fx.chunkSize ?? DEFAULT_CHUNK;
    });
    after(async () => {
      await fx?.teardown();
    });

    const key = (label: string): string => `${label}-${randomUUID()}`;
    const writable = (): boolean => fx.driver.capabilities.writable;

    /** Puts an object in place: through the driver when it writes, else through the seed. */
    async function place(k: string, data: Buffer): Promise<string> {
      if (writable()) {
        const { location, bytes } = await fx.driver.write(k, sourceOf(data));
        assert.equal(bytes, data.length, 'bytes reported by write');
        return location;
      }
      assert.ok(fx.seed, `${name}: a read-only driver's fixture must provide seed()`);
      return fx.seed(k, data);
    }

    /** Asserts nothing of `k` is left in the backend (objects, segments, staging). */
    async function assertNothingLeft(k: string): Promise<void> {
      if (!fx.listLeftovers) {
        console.log(`# ${name}: no listLeftovers(): leftover check for ${k} NOT run`);
        return;
      }
      const left = (await fx.listLeftovers()).filter((n) => n.includes(k));
      assert.deepEqual(left, [], `leftovers of ${k}`);
      const staging = (await fx.driver.listStaging()).filter((s) => s.key === undefined || s.key === k);
      assert.deepEqual(staging, [], `staging objects of ${k}`);
    }

    const sizes: ReadonlyArray<[string, (c: number) => number]> = [
      ['0 bytes', () => 0],
      ['1 byte', () => 1],
      ['chunk - 1', (c) => c - 1],
      ['chunk', (c) => c],
      ['chunk + 1', (c) => c + 1],
      ['3.5 chunks', (c) => Math.floor(c * 3.5)],
    ];
    for (const [label, size] of sizes) {
      test(`round trip of ${label} keeps every byte (md5, sha256)`, async () => {
        const data = randomBytes(size(chunk));
        const k = key('rt');
        const location = await place(k, data);
        const schemes = [fx.driver.scheme, ...(fx.driver.schemes ?? [])];
        assert.ok(schemes.includes(location.slice(0, location.indexOf(':'))), `location has one of the driver's schemes: ${location}`);
        const { stream, size: got } = await fx.driver.read(location);
        assert.equal(got, data.length, 'size from read');
        const back = await readAll(stream);
        assert.equal(back.length, data.length);
        assert.deepEqual(digests(back), digests(data));
        if (writable()) {
          await fx.driver.delete(location);
          await assertNothingLeft(k);
        }
      });
    }

    test('every Range form returns exactly its bytes and the whole size', async (t) => {
      if (!fx.driver.capabilities.rangedReads) {
        t.skip('driver declares no ranged reads');
        console.log(`# ${name}: ranged reads not declared: range tests skipped`);
        return;
      }
      const data = randomBytes(Math.floor(chunk * 3.5));
      const last = data.length - 1;
      const location = await place(key('range'), data);
      const ranges: ReadonlyArray<[string, { start: number; end: number }]> = [
        ['start-end inside one chunk', { start: 10, end: 99 }],
        ['start-end across chunks', { start: chunk - 7, end: 2 * chunk + 7 }],
        ['open-ended (start-)', { start: chunk + 3, end: last }],
        ['suffix (last 100 bytes)', { start: data.length - 100, end: last }],
        ['single first byte', { start: 0, end: 0 }],
        ['single byte at a chunk edge', { start: chunk, end: chunk }],
        ['last byte', { start: last, end: last }],
        ['whole object', { start: 0, end: last }],
      ];
      for (const [label, range] of ranges) {
        const { stream, size } = await fx.driver.read(location, { range });
        assert.equal(size, data.length, `${label}: whole size`);
        const got = await readAll(stream);
        assert.ok(got.equals(data.subarray(range.start, range.end + 1)), `${label}: ${range.start}-${range.end}, got ${got.length} bytes`);
      }
      await assert.rejects(
        fx.driver.read(location, { range: { start: data.length, end: data.length + 10 } }),
        RangeNotSatisfiable,
        'a range starting past the end',
      );
      if (writable()) await fx.driver.delete(location);
    });

    test('a read can be aborted through its signal', async () => {
      const location = await place(key('abort-read'), randomBytes(chunk * 2));
      const controller = new AbortController();
      const { stream } = await fx.driver.read(location, { signal: controller.signal });
      controller.abort();
      await assert.rejects(readAll(stream), { name: 'AbortError' });
      if (writable()) await fx.driver.delete(location);
    });

    test('reading a missing object is NotFound', async () => {
      let location: string;
      if (writable()) {
        ({ location } = await fx.driver.write(key('missing'), sourceOf(randomBytes(10))));
        await fx.driver.delete(location);
      } else {
        assert.ok(fx.missingLocation, `${name}: a read-only driver's fixture must provide missingLocation()`);
        location = fx.missingLocation(key('missing'));
      }
      await assert.rejects(fx.driver.read(location), NotFound);
    });

    test('a location of another scheme or outside the store is Invalid', async () => {
      const foreign = ['iris-contract-other-scheme://host/x', ...(fx.foreignLocations ?? [])];
      for (const location of foreign) {
        await assert.rejects(fx.driver.read(location), Invalid, `read ${location}`);
        if (writable()) await assert.rejects(fx.driver.delete(location), Invalid, `delete ${location}`);
      }
    });

    // ---- the write half: subtests of one test, so a read-only driver runs none of them ------

    const writeTests: Array<[string, () => Promise<void>]> = [];
    const writeTest = (title: string, body: () => Promise<void>): void => {
      writeTests.push([title, body]);
    };

    test('write half (a read-only driver must refuse writes and list no staging instead)', async (t) => {
      if (!writable()) {
        await assert.rejects(fx.driver.write(key('ro'), sourceOf(randomBytes(10))));
        assert.deepEqual(await fx.driver.listStaging(), []);
        return;
      }
      for (const [title, body] of writeTests) await t.test(title, body);
    });

    writeTest('writing a key again replaces the object at the same location', async () => {
      const k = key('again');
      const first = await fx.driver.write(k, sourceOf(randomBytes(chunk * 2 + 5)));
      const data = randomBytes(500);
      const second = await fx.driver.write(k, sourceOf(data));
      assert.equal(second.location, first.location);
      assert.ok((await readAll((await fx.driver.read(second.location)).stream)).equals(data));
      await fx.driver.delete(second.location);
      await assertNothingLeft(k);
    });

    writeTest('delete is idempotent', async () => {
      const k = key('delete');
      const { location } = await fx.driver.write(k, sourceOf(randomBytes(chunk + 1)));
      await fx.driver.delete(location);
      await fx.driver.delete(location);
      await assertNothingLeft(k);
    });

    writeTest('concurrent writes of different keys each keep their own bytes', async () => {
      const n = opts.concurrency ?? 4;
      const items = Array.from({ length: n }, (_, i) => ({ k: key(`conc${i}`), data: randomBytes(Math.floor(chunk * 1.5) + i) }));
      const written = await Promise.all(items.map(({ k, data }) => fx.driver.write(k, sourceOf(data))));
      assert.equal(new Set(written.map((w) => w.location)).size, n, 'distinct locations');
      for (const [i, { location, bytes }] of written.entries()) {
        assert.equal(bytes, items[i]!.data.length);
        const back = await readAll((await fx.driver.read(location)).stream);
        assert.deepEqual(digests(back), digests(items[i]!.data), `object ${i}`);
      }
      for (const [i, { location }] of written.entries()) {
        await fx.driver.delete(location);
        await assertNothingLeft(items[i]!.k);
      }
    });

    writeTest('a write aborted mid-stream (past 2 chunks) leaves nothing', async () => {
      const k = key('abort');
      const controller = new AbortController();
      const { source, drained } = stallingSource(randomBytes(Math.floor(chunk * 2.5)));
      const writing = fx.driver.write(k, source, { signal: controller.signal });
      await drained;
      controller.abort();
      await assert.rejects(writing, { name: 'AbortError' });
      await assertNothingLeft(k);
    });

    writeTest('a write with an already aborted signal leaves nothing', async () => {
      const k = key('preabort');
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(fx.driver.write(k, sourceOf(randomBytes(10)), { signal: controller.signal }), { name: 'AbortError' });
      await assertNothingLeft(k);
    });

    writeTest('a source that errors mid-way leaves nothing, and its error is rethrown', async () => {
      const k = key('broken');
      const { source, drained } = stallingSource(randomBytes(Math.floor(chunk * 2.5)));
      const writing = fx.driver.write(k, source);
      await drained;
      const boom = new Error('connection reset by the contract suite');
      source.destroy(boom);
      await assert.rejects(writing, (err) => err === boom);
      await assertNothingLeft(k);
    });

    writeTest('a write in progress is listed as staging, with a recent time, until it ends', async () => {
      const k = key('staging');
      const before = Date.now();
      const controller = new AbortController();
      const { source, drained } = stallingSource(randomBytes(Math.floor(chunk * 2.5)));
      const writing = fx.driver.write(k, source, { signal: controller.signal });
      try {
        await drained;
        const staging = (await fx.driver.listStaging()).filter((s) => s.key === undefined || s.key === k);
        // A driver that buffers a whole chunk before creating anything may list nothing yet;
        // whatever it lists must be datable and recent.
        for (const s of staging) {
          assert.ok(s.modifiedAt instanceof Date && !Number.isNaN(s.modifiedAt.getTime()), 'modifiedAt is a date');
          // Backends keep whole-second times: allow the second it started in.
          assert.ok(s.modifiedAt.getTime() >= before - 2000, `modifiedAt ${s.modifiedAt.toISOString()} is recent`);
        }
      } finally {
        controller.abort();
        await writing.catch(() => undefined);
      }
      await assertNothingLeft(k);
    });

    writeTest('removeStaging removes an abandoned write and is idempotent', async () => {
      // A crash cannot be staged portably; a staging object whose writer stopped caring is the
      // same thing to removeStaging. The write is held stalled while its staging is removed.
      const k = key('abandoned');
      const controller = new AbortController();
      const { source, drained } = stallingSource(randomBytes(Math.floor(chunk * 2.5)));
      const writing = fx.driver.write(k, source, { signal: controller.signal });
      try {
        await drained;
        const mine = (await fx.driver.listStaging()).filter((s) => s.key === k);
        for (const s of mine) {
          await fx.driver.removeStaging(s.id);
          await fx.driver.removeStaging(s.id);
        }
        assert.deepEqual((await fx.driver.listStaging()).filter((s) => s.key === k), []);
      } finally {
        controller.abort();
        await writing.catch(() => undefined);
      }
      await assertNothingLeft(k);
    });
  });
}
