/**
 * The transfer threads on their own (src/blob/fd-transfer.ts): a real TCP connection on
 * loopback, its server side handed to a thread as the HTTP layer does (reading stopped, the
 * descriptor and the bytes already read), a real file to write into. The API tests
 * (test/api/direct-transfer.test.ts) cover the same through Iris's HTTP server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTransferPool, TransferError, type TransferPool } from '../../src/blob/fd-transfer.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'iris-fd-transfer-'));
let server: Server;
let port: number;
/** Server-side sockets, in the order clients connect. */
const accepted: Socket[] = [];
const waiting: Array<(s: Socket) => void> = [];
let pool: TransferPool;

before(async () => {
  server = createServer({ pauseOnConnect: true }, (socket) => {
    const next = waiting.shift();
    if (next) next(socket);
    else accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  pool = createTransferPool({ threads: 1, idleMs: 60_000 });
});
after(async () => {
  await pool.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A connected pair: the client socket, and the server side with its reading stopped. */
async function pair(): Promise<{ client: Socket; fd: number; serverSide: Socket }> {
  const serverSide = new Promise<Socket>((resolve) => {
    const ready = accepted.shift();
    if (ready) resolve(ready);
    else waiting.push(resolve);
  });
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const s = await serverSide;
  // pauseOnConnect: libuv never started reading it, as after the HTTP layer's hand-over.
  const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
  return { client, fd, serverSide: s };
}

function md5(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

test('a body read from the socket, after its head, lands in the file with its digests and the observer sees it all', async () => {
  const { client, fd, serverSide } = await pair();
  const head = randomBytes(10_000);
  const rest = randomBytes(3 * MiB + 17);
  const file = join(dir, 'whole');
  const fileFd = openSync(file, 'w');
  const lease = pool.tryLease();
  assert.ok(lease);
  assert.equal(await lease.ready(), true);
  // Sent in pieces while the thread reads, so it has to wait for the socket more than once.
  const sending = (async () => {
    for (let at = 0; at < rest.length; at += 256 * 1024) {
      client.write(rest.subarray(at, at + 256 * 1024));
      await new Promise((r) => setImmediate(r));
    }
  })();
  const received = await lease.receive({
    socketFd: fd,
    head: [head],
    length: head.length + rest.length,
    fileFd,
    flushBytes: MiB,
    hashAlgo: 'sha512',
    idleMs: 10_000,
    observer: { module: new URL('../../src/format/portable-inspection.ts', import.meta.url).href, options: {} },
  });
  await sending;
  closeSync(fileFd);
  const whole = Buffer.concat([head, rest]);
  assert.equal(received.bytes, whole.length);
  assert.equal(received.socketBytes, rest.length);
  assert.equal(received.md5, md5(whole));
  assert.equal(received.multihash, createHash('sha512').update(whole).digest('hex'));
  assert.ok(readFileSync(file).equals(whole), 'the file holds the body');
  assert.equal((received.observed as { format: string; size: number }).format, 'raw');
  assert.equal((received.observed as { format: string; size: number }).size, whole.length);
  // The thread closed its duplicate only: the server's own descriptor still works.
  serverSide.resume();
  client.write('after');
  const [after] = (await new Promise((resolve) => serverSide.once('data', (d) => resolve([d])))) as [Buffer];
  assert.equal(after.toString(), 'after');
  client.destroy();
  serverSide.destroy();
  assert.equal(pool.stats().receive, 1);
});

for (const [what, act, failure, socketBytes] of [
  ['a client that closes its side early', (c: Socket) => c.end(randomBytes(1000)), 'eof', 1000],
  ['a client that goes quiet past the idle limit', (c: Socket) => c.write(randomBytes(1000)), 'idle', 1000],
] as const) {
  test(`${what}: the transfer fails with "${failure}" and says how much it read`, async () => {
    const { client, fd, serverSide } = await pair();
    const fileFd = openSync(join(dir, failure), 'w');
    const lease = pool.tryLease();
    assert.ok(lease && (await lease.ready()));
    act(client);
    const err = await lease.receive({ socketFd: fd, head: [], length: MiB, fileFd, flushBytes: 0, hashAlgo: null, idleMs: 300 }).then(
      () => assert.fail('the transfer should fail'),
      (e: unknown) => e,
    );
    closeSync(fileFd);
    assert.ok(err instanceof TransferError, String(err));
    assert.equal(err.failure, failure);
    assert.equal(err.socketBytes, socketBytes);
    client.destroy();
    serverSide.destroy();
  });
}

test('an abort stops a transfer waiting for data', async () => {
  const { client, fd, serverSide } = await pair();
  const fileFd = openSync(join(dir, 'aborted'), 'w');
  const lease = pool.tryLease();
  assert.ok(lease && (await lease.ready()));
  const controller = new AbortController();
  const receiving = lease.receive({ socketFd: fd, head: [], length: MiB, fileFd, flushBytes: 0, hashAlgo: 'sha512', idleMs: 0 }, controller.signal);
  client.write(randomBytes(100), () => controller.abort());
  const err = await receiving.then(
    () => assert.fail('the transfer should fail'),
    (e: unknown) => e,
  );
  closeSync(fileFd);
  assert.ok(err instanceof TransferError && err.failure === 'aborted', String(err));
  client.destroy();
  serverSide.destroy();
});

test('one thread: a second lease is refused while the first is held, and counted as busy', async () => {
  const first = pool.tryLease();
  assert.ok(first);
  const busyBefore = pool.stats().busy;
  assert.equal(pool.tryLease(), null);
  assert.equal(pool.stats().busy, busyBefore + 1);
  first.release();
  const again = pool.tryLease();
  assert.ok(again, 'the released thread is offered again');
  again.release();
});

test('threads that cannot start: the lease says so and the pool offers none again', async () => {
  const broken = createTransferPool({ threads: 1, entry: new URL('./no-such-thread-module.js', import.meta.url) });
  const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
  const lease = broken.tryLease();
  assert.ok(lease);
  assert.equal(await lease.ready(), false);
  lease.release();
  assert.equal(broken.tryLease(), null);
  assert.match((await warned).message, /could not start/);
  await broken.close();
});
