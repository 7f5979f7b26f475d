/**
 * What only the swift driver does, against a real Swift: Glance's DLO layout and locations,
 * segments removed on delete and on abort, a download resumed after a cut connection, token
 * renewal mid-transfer, swift_store_config_file references, multiple containers, SLO delete.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createSwiftDriver, type SwiftLogger } from '../../src/blob/drivers/swift-driver.js';
import { Invalid, NotFound } from '../../src/domain/errors.js';
import { eventually, readAll, sourceOf } from '../helpers/blob-streams.js';
import { listContainer, swiftOptions } from '../helpers/swift-driver-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';

const CHUNK = 64 * 1024;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** A source that gives `first`, then waits for `release()` before giving `rest`. */
function gatedSource(first: Buffer, rest: Buffer): { source: Readable; drained: Promise<void>; release: () => void } {
  let stage = 0;
  let resolveDrained!: () => void;
  const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
  let releaseNow!: () => void;
  const released = new Promise<void>((resolve) => (releaseNow = resolve));
  const source = new Readable({
    read() {
      if (stage === 0) {
        stage = 1;
        this.push(first);
      } else if (stage === 1) {
        stage = 2;
        resolveDrained();
        void released.then(() => {
          this.push(rest);
          this.push(null);
        });
      }
    },
  });
  return { source, drained, release: releaseNow };
}

/**
 * A TCP forwarder in front of the Swift proxy that, once armed, cuts the first connection that
 * asks for `path` after `cutAfter` bytes of its answer, and records every request line + Range.
 */
async function startCutter(target: number): Promise<{ port: number; arm(path: string, cutAfter: number): void; requests: string[]; close(): Promise<void> }> {
  let armed: { path: string; cutAfter: number } | undefined;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let cutting: { left: number } | undefined;
    client.on('data', (data: Buffer) => {
      const text = data.toString('latin1');
      const line = /^(GET|PUT|HEAD|DELETE|POST) (\S+)/m.exec(text);
      if (line) requests.push(`${line[1]} ${line[2]}${/\r\nrange: ([^\r]+)/i.exec(text)?.[1] ? ` range=${/\r\nrange: ([^\r]+)/i.exec(text)![1]}` : ''}`);
      if (armed && line?.[1] === 'GET' && line[2]!.endsWith(armed.path)) {
        cutting = { left: armed.cutAfter };
        armed = undefined;
      }
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (cutting) {
        if (data.length >= cutting.left) {
          client.write(data.subarray(0, cutting.left));
          client.destroy();
          upstream.destroy();
          return;
        }
        cutting.left -= data.length;
      }
      client.write(data);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    arm: (path, cutAfter) => (armed = { path, cutAfter }),
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const quietLogger = (lines: string[]): SwiftLogger => ({
  info: (fields, message) => lines.push(`info ${message} ${JSON.stringify(fields)}`),
  warn: (fields, message) => lines.push(`warn ${message} ${JSON.stringify(fields)}`),
});

describe('swift driver on a real Swift', { skip: !requireSwift() && 'Swift is not installed (see the SKIP line above)' }, () => {
  let swift: SwiftServer;
  let dir: string;
  before(async () => {
    swift = await startSwift();
    dir = mkdtempSync(join(tmpdir(), 'iris-swift-test-'));
  });
  after(async () => {
    await swift?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function swiftCall(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) {
    const { storageUrl, token } = await swift.auth();
    const res = await fetch(`${storageUrl}${path}`, { method, headers: { 'x-auth-token': token, ...headers }, body: typeof body === 'string' ? body : body === undefined ? undefined : new Uint8Array(body) });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  test('a large object is a DLO exactly as Glance writes it; delete removes manifest and segments', async () => {
    const driver = createSwiftDriver(swiftOptions(swift), { chunkBytes: CHUNK });
    const id = randomUUID();
    const data = randomBytes(CHUNK * 2 + 10);
    const { location, bytes } = await driver.write(id, sourceOf(data));
    assert.equal(bytes, data.length);
    assert.equal(location, `swift+http://test%3Atester:testing@127.0.0.1:${swift.proxyPort}/auth/v1.0/glance/${id}`);
    assert.deepEqual(await listContainer(swift, 'glance', id), [id, `${id}-00001`, `${id}-00002`, `${id}-00003`]);
    const head = await swiftCall('HEAD', `/glance/${id}`);
    assert.equal(head.headers.get('x-object-manifest'), `glance/${id}-`);
    assert.equal(md5((await swiftCall('GET', `/glance/${id}`)).body), md5(data), 'Swift itself serves the DLO');
    await driver.delete(location);
    assert.deepEqual(await listContainer(swift, 'glance', id), []);
    await driver.delete(location); // idempotent
    await assert.rejects(driver.read(location), NotFound);
  });

  test('an object of known size below the large-object size is one PUT with a checked ETag', async () => {
    const driver = createSwiftDriver(swiftOptions(swift), { chunkBytes: CHUNK, largeObjectBytes: CHUNK * 4 });
    const id = randomUUID();
    const data = randomBytes(CHUNK * 3);
    const { location } = await driver.write(id, sourceOf(data), { sizeHint: data.length });
    assert.deepEqual(await listContainer(swift, 'glance', id), [id]);
    const head = await swiftCall('HEAD', `/glance/${id}`);
    assert.equal(head.headers.get('x-object-manifest'), null);
    assert.equal(head.headers.get('etag'), md5(data));
    await driver.delete(location);
    assert.deepEqual(await listContainer(swift, 'glance', id), []);
  });

  test('an abort while a segment is in flight leaves no segment and no manifest', async () => {
    const driver = createSwiftDriver(swiftOptions(swift), { chunkBytes: CHUNK });
    const id = randomUUID();
    const gate = gatedSource(randomBytes(CHUNK + CHUNK / 2), randomBytes(10));
    const controller = new AbortController();
    const writing = driver.write(id, gate.source, { signal: controller.signal });
    await gate.drained; // segment 2 is half sent; segment 1 is being committed
    await eventually(async () => (await listContainer(swift, 'glance', id)).includes(`${id}-00001`), 'segment 1 stored', 20_000);
    controller.abort();
    await assert.rejects(writing, { name: 'AbortError' });
    assert.deepEqual(await listContainer(swift, 'glance', id), []);
  });

  test('a download cut mid-way resumes from the byte it reached (swift_store_retry_get_count)', async () => {
    const cutter = await startCutter(swift.proxyPort);
    try {
      const authUrl = `http://127.0.0.1:${cutter.port}/auth/v1.0`;
      const logs: string[] = [];
      const driver = createSwiftDriver(swiftOptions(swift, { swift_store_auth_address: authUrl, swift_store_retry_get_count: 2 }), {
        chunkBytes: CHUNK,
        logger: quietLogger(logs),
      });
      const id = randomUUID();
      const data = randomBytes(CHUNK * 5);
      const { location } = await driver.write(id, sourceOf(data));

      cutter.arm(`/glance/${id}`, 100_000); // past the headers, inside the body
      const whole = await readAll((await driver.read(location)).stream);
      assert.equal(md5(whole), md5(data));
      const gets = cutter.requests.filter((r) => r.startsWith(`GET /v1/AUTH_test/glance/${id}`));
      assert.equal(gets.length, 2, gets.join('\n'));
      const resumed = /range=bytes=(\d+)-(\d+)/.exec(gets[1]!);
      assert.ok(resumed, `the second GET has a Range: ${gets[1]}`);
      assert.ok(Number(resumed[1]) > 0 && Number(resumed[1]) < data.length, `resumed at ${resumed[1]}`);
      assert.equal(Number(resumed[2]), data.length - 1);
      assert.ok(logs.some((l) => l.includes('resuming')), 'the retry is logged');

      // A ranged read resumes inside its range.
      cutter.arm(`/glance/${id}`, 50_000);
      const part = await readAll((await driver.read(location, { range: { start: 1000, end: CHUNK * 4 } })).stream);
      assert.ok(part.equals(data.subarray(1000, CHUNK * 4 + 1)));

      // Without retries the cut is the reader's error.
      const strict = createSwiftDriver(swiftOptions(swift, { swift_store_auth_address: authUrl }), { chunkBytes: CHUNK });
      cutter.arm(`/glance/${id}`, 100_000);
      await assert.rejects(readAll((await strict.read(location)).stream));
      await driver.delete(location);
    } finally {
      await cutter.close();
    }
  });

  test('a token revoked mid-write (between segments) and before a read is renewed', async () => {
    const logs: string[] = [];
    const driver = createSwiftDriver(swiftOptions(swift), { chunkBytes: CHUNK, logger: quietLogger(logs) });
    const id = randomUUID();
    // Exactly one segment, then the source waits: once segment 1 is stored, no request is in
    // flight and the next one is segment 2's.
    const first = randomBytes(CHUNK);
    const rest = randomBytes(CHUNK * 2 + 100);
    const gate = gatedSource(first, rest);
    const writing = driver.write(id, gate.source);
    await eventually(async () => (await listContainer(swift, 'glance', id)).includes(`${id}-00001`), 'segment 1 stored', 20_000);
    // tempauth hands the same user the same token while it lives: this is the driver's token.
    const { token } = await swift.auth();
    await swift.revokeToken(token);
    gate.release();
    const { location } = await writing;
    assert.ok(logs.some((l) => l.includes('401')), 'the refused token was noticed');
    const { token: renewed } = await swift.auth();
    assert.notEqual(renewed, token);
    await swift.revokeToken(renewed);
    const back = await readAll((await driver.read(location)).stream);
    assert.equal(md5(back), md5(Buffer.concat([first, rest])));
    await driver.delete(location);
  });

  test('swift_store_config_file: locations name the reference; inline Glance locations of the same Swift resolve', async () => {
    const file = join(dir, 'swift-store.conf');
    writeFileSync(
      file,
      [
        '[ref1]',
        `auth_address = ${swift.authUrl}`,
        `user = ${swift.user}`,
        `key = ${swift.key}`,
        'auth_version = 1',
        '',
        '[other]',
        `auth_address = ${swift.authUrl}`,
        `user = ${swift.second.user}`,
        `key = "${swift.second.key}"`,
        'auth_version = 1',
        '',
        '[broken]',
        'user = nobody',
        '',
      ].join('\n'),
    );
    const logs: string[] = [];
    const driver = createSwiftDriver(
      swiftOptions(swift, { swift_store_config_file: file, swift_store_auth_address: null, swift_store_user: null, swift_store_key: null }),
      { chunkBytes: CHUNK, logger: quietLogger(logs) },
    );
    assert.ok(logs.some((l) => l.includes('broken')), 'a reference without auth_address is skipped and logged');
    assert.equal(driver.scheme, 'swift+config');
    const id = randomUUID();
    const data = randomBytes(CHUNK * 2);
    const { location } = await driver.write(id, sourceOf(data));
    assert.equal(location, `swift+config://ref1/glance/${id}`);
    assert.ok((await readAll((await driver.read(location)).stream)).equals(data));
    // The same object as Glance without a config file would have recorded it.
    const inline = `swift+http://test%3Atester:testing@127.0.0.1:${swift.proxyPort}/auth/v1.0/glance/${id}`;
    assert.ok((await readAll((await driver.read(inline)).stream)).equals(data));
    // Another reference is another account: the object is not there.
    await assert.rejects(driver.read(`swift+config://other/glance/${id}`), NotFound);
    await assert.rejects(driver.read(`swift+config://broken/glance/${id}`), Invalid);
    await driver.delete(location);
    assert.deepEqual(await listContainer(swift, 'glance', id), []);
  });

  test('swift_store_multiple_containers_seed puts an image in <container>_<first N chars of its id>', async () => {
    const driver = createSwiftDriver(swiftOptions(swift, { swift_store_multiple_containers_seed: 10, swift_store_container: 'seeded' }), {
      chunkBytes: CHUNK,
    });
    const id = 'fdae39a1-bac5-4238-aba4-69bcc726e848';
    const { location } = await driver.write(id, sourceOf(randomBytes(CHUNK + 1)));
    // Glance's own example: dashes are kept and do not count.
    assert.match(location, /\/seeded_fdae39a1-ba\/fdae39a1-bac5-4238-aba4-69bcc726e848$/);
    assert.deepEqual(await listContainer(swift, 'seeded_fdae39a1-ba'), [id, `${id}-00001`, `${id}-00002`]);
    assert.deepEqual(await driver.listStaging(), []);
    await driver.delete(location);
    assert.deepEqual(await listContainer(swift, 'seeded_fdae39a1-ba'), []);
  });

  test('without swift_store_create_container_on_put a missing container fails the write as Glance does', async () => {
    const driver = createSwiftDriver(swiftOptions(swift, { swift_store_create_container_on_put: false, swift_store_container: 'absent' }));
    await assert.rejects(driver.write(randomUUID(), sourceOf(randomBytes(10))), /swift_store_create_container_on_put/);
    assert.equal((await swiftCall('HEAD', '/absent')).status, 404);
  });

  test('an SLO put there by another writer is read whole and deleted with its segments', async () => {
    const driver = createSwiftDriver(swiftOptions(swift), { chunkBytes: CHUNK });
    const id = randomUUID();
    const parts = [randomBytes(CHUNK), randomBytes(1000)];
    for (const [i, part] of parts.entries()) assert.equal((await swiftCall('PUT', `/glance/${id}-slo-${i}`, {}, part)).status, 201);
    const manifest = JSON.stringify(parts.map((p, i) => ({ path: `/glance/${id}-slo-${i}`, etag: md5(p), size_bytes: p.length })));
    assert.equal((await swiftCall('PUT', `/glance/${id}?multipart-manifest=put`, {}, manifest)).status, 201);
    const location = `swift+http://test%3Atester:testing@127.0.0.1:${swift.proxyPort}/auth/v1.0/glance/${id}`;
    const { stream, size } = await driver.read(location, { range: { start: CHUNK - 5, end: CHUNK + 5 } });
    assert.equal(size, CHUNK + 1000);
    assert.ok((await readAll(stream)).equals(Buffer.concat(parts).subarray(CHUNK - 5, CHUNK + 6)));
    await driver.delete(location);
    assert.deepEqual(await listContainer(swift, 'glance', id), []);
  });
});
