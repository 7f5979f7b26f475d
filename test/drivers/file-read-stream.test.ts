/**
 * FileReadStream (the filesystem driver's read stream): an ordinary Readable for any consumer,
 * the direct buffer-reusing path only into a destination marked as handing chunks back (the HTTP
 * layer marks a plain http.ServerResponse), and the descriptor closed whatever happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { createServer, request, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { releasesWrittenChunks } from '../../src/blob/blob-driver.js';
import { FileReadStream } from '../../src/blob/drivers/file-read-stream.js';
import { offerChunkRelease } from '../../src/http/chunk-releasing-response.js';

const CHUNK = 64 * 1024;

/** Counts `_read` calls: the direct path never needs one. */
class CountingStream extends FileReadStream {
  reads = 0;
  override _read(): void {
    this.reads += 1;
    super._read();
  }
}

function withFile(data: Buffer): { path: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'iris-file-read-stream-'));
  const path = join(dir, 'blob');
  writeFileSync(path, data);
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

test('read by any consumer: the range start..end, in distinct chunks, then the handle is closed', async () => {
  const data = randomBytes(5 * CHUNK + 17);
  const file = withFile(data);
  try {
    const handle = await open(file.path);
    const stream = new FileReadStream(handle, { start: CHUNK - 3, end: 4 * CHUNK + 2, chunkSize: CHUNK });
    const chunks: Buffer[] = [];
    // A collecting Writable keeps every chunk: reused buffers would show up as corrupted data.
    await pipeline(
      stream,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
    );
    assert.ok(chunks.length > 1);
    assert.equal(new Set(chunks.map((c) => c.buffer)).size, chunks.length, 'chunks share memory');
    assert.ok(Buffer.concat(chunks).equals(data.subarray(CHUNK - 3, 4 * CHUNK + 3)));
    if (!stream.closed) await once(stream, 'close');
    assert.equal(handle.fd, -1, 'handle still open');
  } finally {
    file.done();
  }
});

test('an empty range (an empty file) ends at once', async () => {
  const file = withFile(Buffer.alloc(0));
  try {
    const handle = await open(file.path);
    const chunks: Buffer[] = [];
    for await (const chunk of new FileReadStream(handle, { end: -1, chunkSize: CHUNK })) chunks.push(chunk as Buffer);
    assert.deepEqual(chunks, []);
    assert.equal(handle.fd, -1);
  } finally {
    file.done();
  }
});

/** Serves `makeStream()` to one slow client; resolves with what the client received. */
async function serveToSlowClient(
  makeStream: () => Promise<FileReadStream>,
  { mark = true }: { mark?: boolean } = {},
): Promise<{ body: Buffer; stream: FileReadStream }> {
  let stream: FileReadStream | undefined;
  const server = createServer((_req, res) => {
    makeStream().then(
      (made) => {
        stream = made;
        res.setHeader('content-type', 'application/octet-stream');
        if (mark) offerChunkRelease(res);
        made.pipe(res);
      },
      (error: unknown) => res.destroy(error as Error),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path: '/' }, resolve).on('error', reject).end();
    });
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of res) {
      chunks.push(chunk as Buffer);
      // Pauses now and then, so the server waits for the socket to hand its buffers back.
      if (++n % 20 === 0) await sleep(20);
    }
    return { body: Buffer.concat(chunks), stream: stream! };
  } finally {
    server.close();
  }
}

test('piped into an http response: the direct path, every byte intact for a slow client', async () => {
  const data = randomBytes(8 * 1024 * 1024 + 5);
  const file = withFile(data);
  try {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    const { body, stream } = await serveToSlowClient(async () => {
      handle = await open(file.path);
      return new CountingStream(handle, { end: data.length - 1, chunkSize: 256 * 1024 });
    });
    assert.equal(body.length, data.length);
    assert.equal(md5(body), md5(data));
    assert.equal((stream as CountingStream).reads, 0, 'went through the stream machinery');
    if (!stream.closed) await once(stream, 'close');
    assert.equal(stream.readableEnded, true);
    assert.equal(handle!.fd, -1, 'handle still open');
  } finally {
    file.done();
  }
});

test('piped into a response the HTTP layer did not mark: the ordinary pipe, every byte intact', async () => {
  const data = randomBytes(2 * 1024 * 1024 + 5);
  const file = withFile(data);
  try {
    const { body, stream } = await serveToSlowClient(
      async () => new CountingStream(await open(file.path), { end: data.length - 1, chunkSize: 256 * 1024 }),
      { mark: false },
    );
    assert.equal(md5(body), md5(data));
    assert.ok((stream as CountingStream).reads > 0, 'took the direct path into an unmarked destination');
  } finally {
    file.done();
  }
});

test("offerChunkRelease marks Node's own response only, not a subclass that might keep chunks", () => {
  const plain = new ServerResponse(new IncomingMessage(new Socket()));
  offerChunkRelease(plain);
  assert.equal(releasesWrittenChunks(plain), true);
  class Injected extends ServerResponse {}
  const injected = new Injected(new IncomingMessage(new Socket()));
  offerChunkRelease(injected);
  assert.equal(releasesWrittenChunks(injected), false);
});

test('destroyed mid-way (the client left): the handle is closed', async () => {
  const data = randomBytes(4 * CHUNK);
  const file = withFile(data);
  try {
    const handle = await open(file.path);
    const stream = new FileReadStream(handle, { end: data.length - 1, chunkSize: CHUNK });
    await once(stream, 'readable');
    stream.destroy();
    await once(stream, 'close');
    assert.equal(handle.fd, -1);
  } finally {
    file.done();
  }
});

test('a file shorter than the range: the stream fails instead of ending short', async () => {
  const data = randomBytes(4 * CHUNK);
  const file = withFile(data);
  try {
    const handle = await open(file.path);
    await truncate(file.path, CHUNK);
    const stream = new FileReadStream(handle, { end: data.length - 1, chunkSize: CHUNK });
    await assert.rejects(async () => {
      for await (const _ of stream) void _;
    }, /shorter than its recorded size/);
    assert.equal(handle.fd, -1);
  } finally {
    file.done();
  }
});
