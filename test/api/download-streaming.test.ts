/**
 * Image download over real sockets (src/blob/drivers/file-read-stream.ts): whole images and
 * ranges spanning several read chunks, concurrent and slow clients (buffers are reused on this
 * path, so a chunk handed back too early would corrupt the data), a client going away mid-body
 * (the file descriptor must be closed), and an image file cut short under a running download.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';

const MIB = 1024 * 1024;

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris();
  base = iris.baseUrl;
});
after(() => iris.stop());

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

async function imageWith(data: Buffer): Promise<string> {
  const created = await json('POST', `${base}/v2/images`, { name: 'dl', disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, describe(created));
  const id: string = created.body.id;
  const put = await putBytes(`${base}/v2/images/${id}/file`, data);
  assert.equal(put.status, 204, describe(put));
  return id;
}

const storeFile = (id: string) => join(iris.dataDir, 'images', id);

/** How many descriptors the server process holds on `path`. */
function openDescriptors(path: string): number {
  const dir = `/proc/${iris.child.pid}/fd`;
  let n = 0;
  for (const fd of readdirSync(dir)) {
    try {
      if (readlinkSync(join(dir, fd)) === path) n += 1;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms\n${iris.logs().slice(-2000)}`);
    await sleep(20);
  }
}

/**
 * A raw GET whose body the test reads (or not) at its own pace: resolves once the head is in,
 * with the socket paused; `closed` settles when the connection is gone.
 */
function rawGet(path: string): Promise<{ socket: Socket; head: string; body: [Buffer, ...Buffer[]]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(iris.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let raw = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve({ socket, head: raw.subarray(0, end).toString('latin1'), body: [raw.subarray(end + 4)], closed });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

test('a whole image of several read chunks: 200, Content-Length, Content-MD5, the exact bytes', async () => {
  const data = randomBytes(5 * MIB + 12345);
  const id = await imageWith(data);
  const r = await getBytes(`${base}/v2/images/${id}/file`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), String(data.length));
  assert.equal(r.headers.get('content-md5'), md5(data));
  assert.ok(r.bytes.equals(data), 'downloaded bytes differ');
  await waitFor('descriptor closed after the download', () => openDescriptors(storeFile(id)) === 0);
});

test('ranges across chunk boundaries and to the end: 206 with the exact bytes', async () => {
  const data = randomBytes(3 * MIB + 7);
  const id = await imageWith(data);
  for (const [header, start, end] of [
    [`bytes=${MIB - 5}-${2 * MIB + 5}`, MIB - 5, 2 * MIB + 5],
    [`bytes=${MIB}-`, MIB, data.length - 1],
    ['bytes=0-0', 0, 0],
  ] as const) {
    const r = await getBytes(`${base}/v2/images/${id}/file`, { Range: header });
    assert.equal(r.status, 206, header);
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
    assert.equal(r.headers.get('content-length'), String(end - start + 1));
    assert.ok(r.bytes.equals(data.subarray(start, end + 1)), `bytes of ${header} differ`);
  }
  await waitFor('descriptors closed after the ranges', () => openDescriptors(storeFile(id)) === 0);
});

test('concurrent downloads of different images each get their own bytes', async () => {
  const images = await Promise.all([0, 1, 2, 3].map(async () => {
    const data = randomBytes(4 * MIB + 1000);
    return { data, id: await imageWith(data) };
  }));
  const results = await Promise.all(images.map(({ id }) => getBytes(`${base}/v2/images/${id}/file`)));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 200);
    assert.equal(md5(r.bytes), md5(images[i]!.data), `image ${i}`);
  }
});

test('a client that stops reading and resumes gets every byte intact', async () => {
  const data = randomBytes(24 * MIB + 3);
  const id = await imageWith(data);
  const { socket, head, body, closed } = await rawGet(`/v2/images/${id}/file`);
  assert.match(head, /^HTTP\/1\.1 200 /);
  // Stalls long enough for the server to fill the socket and wait for its buffers.
  let received = body[0].length;
  socket.on('data', (d: Buffer) => {
    body.push(d);
    received += d.length;
  });
  for (let i = 0; i < 4 && received < data.length; i++) {
    socket.pause();
    await sleep(150);
    socket.resume();
    await sleep(30);
  }
  socket.resume();
  await closed;
  assert.equal(received, data.length);
  assert.equal(md5(Buffer.concat(body)), md5(data));
});

test('a client going away mid-download: the server closes the image file', async () => {
  // Far more than the loopback socket buffers hold, so the server is still sending.
  const data = randomBytes(48 * MIB);
  const id = await imageWith(data);
  const { socket, head } = await rawGet(`/v2/images/${id}/file`);
  assert.match(head, /^HTTP\/1\.1 200 /);
  await waitFor('descriptor open while the download stalls', () => openDescriptors(storeFile(id)) === 1);
  socket.destroy();
  await waitFor('descriptor closed after the client left', () => openDescriptors(storeFile(id)) === 0);
  // And the server is fine: the next download is whole.
  const r = await getBytes(`${base}/v2/images/${id}/file`);
  assert.equal(md5(r.bytes), md5(data));
});

test('an image file cut short under a download: connection dropped, file closed, server alive', async () => {
  const data = randomBytes(48 * MIB);
  const id = await imageWith(data);
  const { socket, head, body, closed } = await rawGet(`/v2/images/${id}/file`);
  assert.match(head, new RegExp(`content-length: ${data.length}`, 'i'));
  await waitFor('descriptor open while the download stalls', () => openDescriptors(storeFile(id)) === 1);
  truncateSync(storeFile(id), 2 * MIB);
  let received = body[0].length;
  socket.on('data', (d: Buffer) => (received += d.length));
  socket.on('error', () => undefined);
  socket.resume();
  await closed;
  assert.ok(received < data.length, `received ${received} of ${data.length} bytes`);
  await waitFor('descriptor closed after the failed download', () => openDescriptors(storeFile(id)) === 0);
  const alive = await json('GET', `${base}/v2/images/${id}`);
  assert.equal(alive.status, 200, describe(alive));
});
