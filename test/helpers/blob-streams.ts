/** Streams for blob tests: sources of known bytes, stalling sources, reading back, waiting. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

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
