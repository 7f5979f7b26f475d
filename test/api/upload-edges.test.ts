/**
 * Upload edge cases at the socket level: bodies shorter or longer than Content-Length with a
 * half-closing client, the size cap before and during the body, and failures leaving nothing.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris({ env: { IRIS__DEFAULT__IMAGE_SIZE_CAP: String(1024 * 1024) } });
  base = iris.baseUrl;
});
after(() => iris.stop());

/** Sends a raw PUT with `contentLength` declared and `sent` bytes, then half-closes; returns the answer. */
function rawUpload(id: string, contentLength: number, sent: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(iris.port, '127.0.0.1', () => {
      socket.write(
        `PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n` +
          `Content-Length: ${contentLength}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(Buffer.alloc(sent, 0x78));
    });
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (answer += d));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** Every file under the store (temp files included) whose name mentions the image id. */
function storeFilesOf(id: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.includes(id)) out.push(p);
    }
  };
  walk(join(iris.dataDir, 'images'));
  return out;
}

async function newImage(): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'edge', disk_format: 'raw', container_format: 'bare' });
  assert.equal(r.status, 201, describe(r));
  return r.body.id;
}

test('body shorter than Content-Length: 400, image back to queued, no blob', async () => {
  const id = await newImage();
  const answer = await rawUpload(id, 100, 50);
  assert.match(answer, /^HTTP\/1\.1 400 /, answer);
  const img = (await json('GET', `${base}/v2/images/${id}`)).body;
  assert.equal(img.status, 'queued');
  assert.equal(img.size, null);
  assert.deepEqual(storeFilesOf(id), []);
});

test('body longer than Content-Length: exactly Content-Length bytes stored (as Glance)', async () => {
  const id = await newImage();
  const answer = await rawUpload(id, 10, 20);
  assert.match(answer, /^HTTP\/1\.1 204 /, answer);
  const img = (await json('GET', `${base}/v2/images/${id}`)).body;
  assert.equal(img.status, 'active');
  assert.equal(img.size, 10);
});

test('image_size_cap: 413 from Content-Length before reading, and while streaming chunked', async () => {
  const id = await newImage();
  const big = randomBytes(1024 * 1024 + 1);
  const r = await putBytes(`${base}/v2/images/${id}/file`, big);
  assert.equal(r.status, 413, describe(r));
  assert.equal((await json('GET', `${base}/v2/images/${id}`)).body.status, 'queued');

  const chunks = [randomBytes(512 * 1024), randomBytes(512 * 1024), randomBytes(512 * 1024)];
  const stream = new ReadableStream({
    start(c) {
      for (const p of chunks) c.enqueue(p);
      c.close();
    },
  });
  const res = await fetch(`${base}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: stream,
    duplex: 'half',
  } as RequestInit).catch((e: Error) => e);
  if (!(res instanceof Error)) assert.equal(res.status, 413);
  const img = (await json('GET', `${base}/v2/images/${id}`)).body;
  assert.equal(img.status, 'queued');
  assert.deepEqual(storeFilesOf(id), []);
  // The image still takes a good upload afterwards.
  assert.equal((await putBytes(`${base}/v2/images/${id}/file`, Buffer.from('fine'))).status, 204);
});

test('Range on an image without data is 416, not a server error', async () => {
  const id = await newImage();
  const res = await fetch(`${base}/v2/images/${id}/file`, { headers: { Range: 'bytes=0-1' } });
  assert.equal(res.status, 416);
});
