/**
 * No request can hold a connection or wedge an image: malformed framing, bodies that stall,
 * idle connections, hostile JSON, CONNECT and undecodable paths, each at the socket level
 * against a real server with short configured timeouts.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris({
    env: { IRIS__IRIS__BODY_IDLE_TIMEOUT: '1', IRIS__DEFAULT__CLIENT_SOCKET_TIMEOUT: '3' },
  });
  base = iris.baseUrl;
});
after(() => iris.stop());

/** Open sockets of the server process (listening one included), from /proc. */
function serverSockets(): number {
  const dir = `/proc/${iris.child.pid}/fd`;
  let n = 0;
  for (const fd of readdirSync(dir)) {
    try {
      if (readlinkSync(join(dir, fd)).startsWith('socket:')) n++;
    } catch {
      // The fd closed between listing and reading: not open any more.
    }
  }
  return n;
}

/** Waits (polling, bounded) until `ok()` holds; returns its last value for the assertion. */
async function eventually(ok: () => boolean, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

interface RawAnswer {
  readonly text: string;
  /** The connection ended (server closed or reset it). */
  readonly closed: boolean;
}

/**
 * Writes `parts` (strings or pauses in ms) to a new connection and collects the answer until the
 * server closes the connection. `endAfter` half-closes after the last part.
 */
function raw(parts: readonly (string | Buffer | number)[], opts: { endAfter?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(iris.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (text += d));
    socket.on('close', () => resolve({ text, closed: true }));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return; // 'close' follows with what we got
      reject(e);
    });
    const send = async () => {
      for (const p of parts) {
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else if (!socket.destroyed) socket.write(p);
      }
      if (opts.endAfter && !socket.destroyed) socket.end();
    };
    socket.on('connect', () => {
      send().catch(reject);
    });
  });
}

function statusOf(answer: RawAnswer): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(answer.text);
  return m ? Number(m[1]) : 0;
}

async function newImage(): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'h', disk_format: 'raw', container_format: 'bare' });
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

async function statusOfImage(id: string): Promise<string> {
  const r = await json('GET', `${base}/v2/images/${id}`);
  assert.equal(r.status, 200, describe(r));
  return r.body.status as string;
}

/** Files anywhere under the data dir whose name mentions the image id (temp files included). */
function filesOf(id: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.includes(id)) out.push(p);
    }
  };
  walk(iris.dataDir);
  return out;
}

const BAD_CHUNKED_JSON =
  'POST /v2/images HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n';

test('a malformed chunked JSON body gets 400 and its connection closes', async () => {
  const answer = await raw([BAD_CHUNKED_JSON]);
  assert.equal(statusOf(answer), 400, answer.text);
  assert.match(answer.text, /Malformed chunked transfer encoding/);
  assert.ok(answer.closed);
});

test('300 malformed requests from clients that hang up leave no socket behind', async () => {
  const baseline = serverSockets();
  for (let i = 0; i < 300; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = connect(iris.port, '127.0.0.1', () => {
        s.end(BAD_CHUNKED_JSON);
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
  }
  const settled = await eventually(() => serverSockets() <= baseline + 2);
  assert.ok(settled, `server holds ${serverSockets()} sockets after 300 malformed requests (baseline ${baseline})`);
  // And it still serves.
  const r = await json('GET', `${base}/v2/images`);
  assert.equal(r.status, 200, describe(r));
});

test('an upload whose bad framing arrives with the headers: 400, image queued, no data left', async () => {
  const id = await newImage();
  const answer = await raw([
    `PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\n`,
  ]);
  assert.equal(statusOf(answer), 400, answer.text);
  assert.equal(await statusOfImage(id), 'queued');
  assert.deepEqual(filesOf(id), []);
});

test('a stalled upload is abandoned after body_idle_timeout: 408, image back to queued, no data left', async () => {
  const id = await newImage();
  const head = `PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`;
  // Headers and some bytes, then nothing: the connection stays open on the client's side.
  const answer = await raw([head, Buffer.alloc(4096, 1)]);
  assert.equal(statusOf(answer), 408, answer.text);
  assert.match(answer.text, /No request data received for 1 seconds/);
  assert.equal(await statusOfImage(id), 'queued');
  assert.deepEqual(filesOf(id), []);
  // The image takes data again.
  const put = await fetch(`${base}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.alloc(1000, 2),
  });
  assert.equal(put.status, 204, await put.text());
  assert.equal(await statusOfImage(id), 'active');
});

test('a stalled JSON body gets 408 and the connection closes', async () => {
  const answer = await raw([
    'POST /v2/images HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"name":',
  ]);
  assert.equal(statusOf(answer), 408, answer.text);
  assert.ok(answer.closed);
});

test('a slow but steady upload is not cut by the body idle timeout', async () => {
  const id = await newImage();
  const head = `PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 3000\r\nConnection: close\r\n\r\n`;
  const parts: (string | Buffer | number)[] = [head];
  // Six pauses of 400 ms: longer than the 1 s timeout in total, never 1 s without a byte.
  for (let i = 0; i < 6; i++) parts.push(Buffer.alloc(500, 3), 400);
  const answer = await raw(parts);
  assert.equal(statusOf(answer), 204, answer.text);
  assert.equal(await statusOfImage(id), 'active');
});

test('an idle connection is closed after client_socket_timeout', async () => {
  const answer = await raw([]);
  assert.ok(answer.closed);
  assert.equal(answer.text, '');
});

test('JSON nested thousands deep is a 400, not a crash', async () => {
  const deep = `{"name": ${'['.repeat(3000)}${']'.repeat(3000)}}`;
  const r = await json('POST', `${base}/v2/images`, deep);
  assert.equal(r.status, 400, describe(r));
  assert.match(r.body.message, /Malformed JSON in request body/);
  const members = await json('POST', `${base}/v2/images/${await newImage()}/members`, `{"member": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`);
  assert.equal(members.status, 400, describe(members));
});

test('a body that is not UTF-8 is malformed JSON (400), as in Glance', async () => {
  const r = await fetch(`${base}/v2/images`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /Malformed JSON in request body\./);
});

test('CONNECT is answered like any method: 405 with Allow on an API path, the version list elsewhere', async () => {
  const api = await raw(['CONNECT /v2/images HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.equal(statusOf(api), 405, api.text);
  assert.match(api.text, /allow: GET, POST/i);
  assert.match(api.text, /The method CONNECT is not allowed for this resource/);
  const authority = await raw(['CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.equal(statusOf(authority), 300, authority.text);
  assert.ok(authority.closed);
});

test('a path the router cannot decode gets a Glance fault, not a framework error', async () => {
  const r = await json('GET', `${base}/v2/images/%zz`);
  assert.equal(r.status, 404, describe(r));
  assert.equal(r.body.title, 'Not Found');
  const outside = await fetch(`${base}/%zz`);
  assert.equal(outside.status, 300);
  assert.ok(((await outside.json()) as { versions: unknown[] }).versions.length > 0);
});

test('a stalled stage is abandoned too: 408, image back to queued, nothing staged', async () => {
  const id = await newImage();
  const head = `PUT /v2/images/${id}/stage HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`;
  const answer = await raw([head, Buffer.alloc(4096, 1)]);
  assert.equal(statusOf(answer), 408, answer.text);
  assert.equal(await statusOfImage(id), 'queued');
  assert.deepEqual(filesOf(id), []);
});

test('a body idle limit above client_socket_timeout is capped by it', async () => {
  const capped = await startIris({
    env: { IRIS__IRIS__BODY_IDLE_TIMEOUT: '60', IRIS__DEFAULT__CLIENT_SOCKET_TIMEOUT: '1' },
  });
  try {
    const r = await json('POST', `${capped.baseUrl}/v2/images`, { name: 'c', disk_format: 'raw', container_format: 'bare' });
    assert.equal(r.status, 201, describe(r));
    const socket = connect(capped.port, '127.0.0.1');
    socket.setEncoding('latin1');
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.write(`PUT /v2/images/${r.body.id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\nabc`);
    await new Promise((resolve) => socket.on('close', resolve));
    assert.match(text, /^HTTP\/1\.1 408 /, text);
    assert.match(text, /No request data received for 1 seconds/);
  } finally {
    await capped.stop();
  }
});
