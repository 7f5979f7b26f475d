/**
 * The contract every BlobDriver must meet, as one suite each driver's test file runs against a
 * fresh backend per test. Besides round trips and ranges it insists that a failed or aborted
 * write leaves nothing behind, neither an object nor a staging object.
 *
 * @example
 * blobDriverSuite('filesystem', async () => { ...; return { driver, contents, plantStaging, close }; });
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobDriver } from '../../src/blob/blob-driver.js';
import { NotFound } from '../../src/domain/errors.js';

/** A fresh, empty backend for one test. */
export interface DriverHarness {
  readonly driver: BlobDriver;
  /** Names of everything the backend holds, committed objects and staging objects alike. */
  contents(): Promise<string[]>;
  /** Leaves a staging object behind, as a write interrupted by a crash would. */
  plantStaging(name: string): Promise<void>;
  /** Removes the backend and anything in it. */
  close(): Promise<void>;
}

/** Reads a stream to its end. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `data` cut into pieces of `chunk` bytes. */
export function sourceOf(data: Buffer, chunk = 64 * 1024): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) pieces.push(data.subarray(at, at + chunk));
  return Readable.from(pieces, { objectMode: false });
}

/** A source that delivers one chunk and then waits, like a client that stalls mid-upload. */
export function stallingSource(first: Buffer): Readable {
  const source = new Readable({ read() {} });
  source.push(first);
  return source;
}

/** Waits until `check` holds, polling; fails the test after `ms`. */
export async function eventually(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Registers the driver contract tests under `name`. `makeHarness` is called once per test and
 * must return an empty backend; the suite closes it.
 */
export function blobDriverSuite(name: string, makeHarness: () => Promise<DriverHarness>): void {
  async function withHarness(body: (h: DriverHarness) => Promise<void>): Promise<void> {
    const harness = await makeHarness();
    try {
      await body(harness);
    } finally {
      await harness.close();
    }
  }

  test(`${name} driver: round trip of random bytes`, () =>
    withHarness(async ({ driver, contents }) => {
      // Not a multiple of any chunk size, so partial chunks are exercised.
      const data = randomBytes(3 * 1024 * 1024 + 123);
      const { location, bytes } = await driver.write('image-1', sourceOf(data, 50_000));
      assert.equal(bytes, data.length);
      assert.ok(location.startsWith(`${driver.scheme}:`), location);
      const { stream, size } = await driver.read(location);
      assert.equal(size, data.length);
      assert.ok((await readAll(stream)).equals(data));
      assert.equal((await contents()).length, 1);
    }));

  test(`${name} driver: round trip of an empty object`, () =>
    withHarness(async ({ driver }) => {
      const { location, bytes } = await driver.write('empty', sourceOf(Buffer.alloc(0)));
      assert.equal(bytes, 0);
      const { stream, size } = await driver.read(location);
      assert.equal(size, 0);
      assert.equal((await readAll(stream)).length, 0);
    }));

  test(`${name} driver: writing a key again replaces the object`, () =>
    withHarness(async ({ driver, contents }) => {
      const first = await driver.write('again', sourceOf(randomBytes(1000)));
      const data = randomBytes(500);
      const second = await driver.write('again', sourceOf(data));
      assert.equal(second.location, first.location);
      assert.ok((await readAll((await driver.read(second.location)).stream)).equals(data));
      assert.equal((await contents()).length, 1);
    }));

  test(`${name} driver: ranged reads return the range and the whole size`, async (t) => {
    const harness = await makeHarness();
    try {
      if (!harness.driver.capabilities.rangedReads) {
        t.skip('driver has no ranged reads');
        return;
      }
      const data = randomBytes(200_000);
      const { location } = await harness.driver.write('ranged', sourceOf(data));
      const ranges = [
        { start: 0, end: 0 },
        { start: 0, end: 99 },
        { start: 1000, end: 150_000 },
        { start: data.length - 1, end: data.length - 1 },
        { start: 0, end: data.length - 1 },
      ];
      for (const range of ranges) {
        const { stream, size } = await harness.driver.read(location, { range });
        assert.equal(size, data.length);
        const got = await readAll(stream);
        assert.ok(got.equals(data.subarray(range.start, range.end + 1)), `range ${range.start}-${range.end}`);
      }
    } finally {
      await harness.close();
    }
  });

  test(`${name} driver: reading a missing object is NotFound`, () =>
    withHarness(async ({ driver }) => {
      const { location } = await driver.write('gone', sourceOf(randomBytes(10)));
      await driver.delete(location);
      await assert.rejects(driver.read(location), NotFound);
    }));

  test(`${name} driver: delete is idempotent`, () =>
    withHarness(async ({ driver, contents }) => {
      const { location } = await driver.write('twice', sourceOf(randomBytes(10)));
      await driver.delete(location);
      await driver.delete(location);
      assert.deepEqual(await contents(), []);
    }));

  test(`${name} driver: a write aborted mid-stream leaves nothing`, () =>
    withHarness(async ({ driver, contents }) => {
      const controller = new AbortController();
      const source = stallingSource(randomBytes(100_000));
      const writing = driver.write('aborted', source, { signal: controller.signal });
      // Abort only once the write has really started, so there is staging data to clean up.
      await eventually(async () => (await contents()).length > 0, 'the staging object');
      controller.abort();
      await assert.rejects(writing, { name: 'AbortError' });
      assert.deepEqual(await contents(), []);
    }));

  test(`${name} driver: a write with an already aborted signal leaves nothing`, () =>
    withHarness(async ({ driver, contents }) => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(
        driver.write('pre-aborted', sourceOf(randomBytes(10)), { signal: controller.signal }),
        { name: 'AbortError' },
      );
      assert.deepEqual(await contents(), []);
    }));

  test(`${name} driver: a write aborted as soon as it starts leaves nothing`, () =>
    withHarness(async ({ driver, contents }) => {
      const controller = new AbortController();
      const writing = driver.write('early', stallingSource(randomBytes(10)), { signal: controller.signal });
      controller.abort();
      await assert.rejects(writing, { name: 'AbortError' });
      // Give a staging object that was still being created the time to show up.
      await sleep(50);
      assert.deepEqual(await contents(), []);
    }));

  test(`${name} driver: a source error leaves nothing and is rethrown`, () =>
    withHarness(async ({ driver, contents }) => {
      const source = stallingSource(randomBytes(100_000));
      const writing = driver.write('broken', source);
      await eventually(async () => (await contents()).length > 0, 'the staging object');
      const boom = new Error('connection reset');
      source.destroy(boom);
      await assert.rejects(writing, (err) => err === boom);
      assert.deepEqual(await contents(), []);
    }));

  test(`${name} driver: sweep removes staging objects only`, () =>
    withHarness(async ({ driver, contents, plantStaging }) => {
      const data = randomBytes(1000);
      const { location } = await driver.write('kept', sourceOf(data));
      await plantStaging('stray-1.abc');
      await plantStaging('stray-2.def');
      assert.equal((await contents()).length, 3);
      assert.equal(await driver.sweep(), 2);
      assert.equal(await driver.sweep(), 0);
      assert.equal((await contents()).length, 1);
      assert.ok((await readAll((await driver.read(location)).stream)).equals(data));
    }));

  test(`${name} driver: sweep on an unused backend finds nothing`, () =>
    withHarness(async ({ driver }) => {
      assert.equal(await driver.sweep(), 0);
    }));

  test(`${name} driver: a read can be aborted`, () =>
    withHarness(async ({ driver }) => {
      const { location } = await driver.write('long', sourceOf(randomBytes(4 * 1024 * 1024)));
      const controller = new AbortController();
      const { stream } = await driver.read(location, { signal: controller.signal });
      controller.abort();
      await assert.rejects(readAll(stream), { name: 'AbortError' });
    }));
}
