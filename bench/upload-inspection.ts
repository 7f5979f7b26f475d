/**
 * What format inspection costs an upload: a 512 MiB raw body through the blob store (hashing,
 * filesystem write with fsync) with and without the inspector as observer, plus the inspector
 * alone. Run: node --import tsx bench/upload-inspection.ts [MiB] [rounds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { createBlobStore } from '../src/blob/blob-store.js';
import { createFilesystemDriver } from '../src/blob/drivers/filesystem-driver.js';
import { createInspector } from '../src/format/inspector.js';
import { createUploadCheck } from '../src/format/upload-check.js';

const MIB = 1024 * 1024;
const total = Number(process.argv[2] ?? 512) * MIB;
const rounds = Number(process.argv[3] ?? 3);
const CHUNK = 64 * 1024;
// Incompressible, and not a disk format: the common case of a raw upload.
const block = randomBytes(8 * MIB);
block.fill(0, 0, 512);

function body(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const at = sent % block.length;
      const n = Math.min(CHUNK, total - sent, block.length - at);
      sent += n;
      this.push(block.subarray(at, at + n));
    },
  });
}

async function put(inspect: boolean): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'iris-bench-'));
  try {
    const blobs = createBlobStore({ driver: createFilesystemDriver({ dir: join(root, 'images') }) });
    const check = createUploadCheck({ diskFormat: 'raw', containerFormat: 'bare' }, { requireImageFormatMatch: true, gptSafetyChecksNonfatal: [] });
    const started = performance.now();
    await blobs.put('bench', body(), { sizeCap: total, hashAlgo: 'sha512', ...(inspect ? { observer: check.observer } : {}) });
    if (inspect && check.virtualSize() !== total) throw new Error('unexpected virtual size');
    return performance.now() - started;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function inspectorAlone(): number {
  const inspector = createInspector();
  const started = performance.now();
  for (let sent = 0; sent < total; sent += CHUNK) {
    const at = sent % block.length;
    inspector.write(block.subarray(at, at + CHUNK));
  }
  inspector.finish();
  return performance.now() - started;
}

const rate = (ms: number) => `${((total / MIB / ms) * 1000).toFixed(0)} MiB/s (${ms.toFixed(0)} ms)`;
const results: { off: number[]; on: number[]; alone: number[] } = { off: [], on: [], alone: [] };
for (let i = 0; i < rounds; i++) {
  results.off.push(await put(false));
  results.on.push(await put(true));
  results.alone.push(inspectorAlone());
}
const best = (xs: number[]) => Math.min(...xs);
console.log(`${total / MIB} MiB raw upload through the blob store, best of ${rounds}:`);
console.log(`  inspection off: ${rate(best(results.off))}`);
console.log(`  inspection on:  ${rate(best(results.on))}`);
console.log(`  inspector alone (64 KiB chunks): ${rate(best(results.alone))}`);
