/**
 * The blob store's observer stage (PutOptions.observer), which format inspection rides on: it
 * sees every stored byte in order, in the same pass, and can veto the data before the commit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlobStore } from '../src/blob/blob-store.js';
import { createFilesystemDriver } from '../src/blob/drivers/filesystem-driver.js';
import { Invalid, TooLarge } from '../src/domain/errors.js';
import type { BlobStore } from '../src/domain/ports.js';
import { readAll, sourceOf } from './helpers/blob-streams.js';

const ID = '5d0b7c2e-9a41-4f6e-8c3b-2a7e1f9d6b05';

async function withStore(body: (blobs: BlobStore, dir: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'iris-blob-observer-'));
  try {
    await body(createBlobStore({ driver: createFilesystemDriver({ dir: join(root, 'images') }) }), join(root, 'images'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Files (not directories: the staging directory stays) anywhere under `dir`. */
const files = (dir: string): string[] => {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
};

test('observer: sees every byte in order, then end, before the put resolves', () =>
  withStore(async (blobs) => {
    const data = randomBytes(3 * 1024 * 1024 + 11);
    const seen: Buffer[] = [];
    let ended = 0;
    const blob = await blobs.put(ID, sourceOf(data, 70_001), {
      sizeCap: 1 << 30,
      hashAlgo: 'sha512',
      observer: { chunk: (c) => void seen.push(Buffer.from(c)), end: () => void ended++ },
    });
    assert.equal(ended, 1);
    assert.ok(Buffer.concat(seen).equals(data));
    assert.ok((await readAll((await blobs.get(blob.location)).stream)).equals(data));
  }));

test('observer: a veto from end fails the put with that error and stores nothing', () =>
  withStore(async (blobs, dir) => {
    const veto = new Invalid('Image failed safety checks: qcow2 image has a backing file.');
    await assert.rejects(
      blobs.put(ID, sourceOf(randomBytes(200_000)), {
        sizeCap: 1 << 30,
        hashAlgo: 'sha512',
        observer: { chunk: () => {}, end: () => { throw veto; } },
      }),
      (err) => err === veto,
    );
    assert.deepEqual(files(dir), []);
  }));

test('observer: data that breaks a size rule never reaches end', () =>
  withStore(async (blobs, dir) => {
    let ended = false;
    await assert.rejects(
      blobs.put(ID, sourceOf(randomBytes(300_000)), {
        sizeCap: 100_000,
        hashAlgo: 'sha512',
        observer: { chunk: () => {}, end: () => void (ended = true) },
      }),
      TooLarge,
    );
    assert.equal(ended, false);
    assert.deepEqual(files(dir), []);
  }));
