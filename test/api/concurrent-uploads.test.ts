/**
 * Concurrent uploads into one server, the situation of bench/peak-rss.ts scaled down: every upload
 * carries different bytes (the benchmark sends one file ten times, which would hide data of one
 * upload reaching another's digests), more uploads than the hashing pool keeps idle rings for,
 * an upload abandoned mid-body among them, and a second wave reusing the rings of the first.
 * Each must end 204 with the md5 and sha512 of its own bytes, and download as uploaded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';

const MIB = 1024 * 1024;
const UPLOADS = 6;
const SIZE = 20 * MIB;

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris();
  base = iris.baseUrl;
});
after(() => iris.stop());

const hex = (algo: string, data: Uint8Array) => createHash(algo).update(data).digest('hex');

async function newImage(): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'concurrent', disk_format: 'raw', container_format: 'bare' });
  assert.equal(r.status, 201, describe(r));
  return r.body.id;
}

/** Declares `declared` bytes, sends `sent` of them, then drops the connection. */
function abandonedUpload(id: string, declared: number, sent: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(iris.port, '127.0.0.1', () => {
      socket.write(
        `PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
          `Content-Length: ${declared}\r\n\r\n`,
      );
      socket.write(randomBytes(sent), () => {
        // Long enough for the server to have started hashing this upload.
        setTimeout(() => socket.destroy(), 200);
      });
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

async function wave(label: string): Promise<void> {
  const uploads = await Promise.all(
    Array.from({ length: UPLOADS }, async () => ({ id: await newImage(), data: randomBytes(SIZE) })),
  );
  const dropped = await newImage();
  const answers = await Promise.all([
    ...uploads.map(({ id, data }) => putBytes(`${base}/v2/images/${id}/file`, data)),
    abandonedUpload(dropped, SIZE, 3 * MIB),
  ]);
  for (const [i, { id, data }] of uploads.entries()) {
    const answer = answers[i] as Awaited<ReturnType<typeof putBytes>>;
    assert.equal(answer.status, 204, `${label} upload ${i}: ${describe(answer)}`);
    const image = (await json('GET', `${base}/v2/images/${id}`)).body;
    assert.equal(image.status, 'active', `${label} upload ${i}`);
    assert.equal(image.size, data.length, `${label} upload ${i}`);
    assert.equal(image.checksum, hex('md5', data), `${label} upload ${i}: md5`);
    assert.equal(image.os_hash_algo, 'sha512');
    assert.equal(image.os_hash_value, hex('sha512', data), `${label} upload ${i}: sha512`);
    const download = await getBytes(`${base}/v2/images/${id}/file`);
    assert.equal(hex('md5', download.bytes), image.checksum, `${label} upload ${i}: downloaded bytes`);
  }
  // The abandoned upload puts its image back to queued (the server may take a moment to notice).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const image = (await json('GET', `${base}/v2/images/${dropped}`)).body;
    if (image.status === 'queued') break;
    assert.ok(Date.now() < deadline, `${label}: abandoned upload left the image ${image.status}`);
    await sleep(50);
  }
}

test('concurrent uploads of different data, one abandoned: each stores and hashes its own bytes', async () => {
  await wave('first wave');
});

test('a second wave, on the hashing rings the first one returned', async () => {
  await wave('second wave');
});
