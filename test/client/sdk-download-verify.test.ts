/**
 * Download verification against a tiny local server that lies: its image record promises one
 * content (md5, sha512, size) and its /file serves other bytes. The SDK must fail at the end of
 * the stream and `downloadToFile` must leave neither the file nor its `.part` behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIrisClient, IrisConnectionError, IrisIntegrityError, type IrisClient } from '../../src/client/index.js';
import { localServer, sendJson, type LocalServer } from './local-server.js';

const good = randomBytes(200_000);
const wrong = Buffer.from(good);
wrong[123_456]! ^= 0xff; // same size, one byte off

/** What /file serves for each image id; the records always describe `good`. */
const served: Record<string, Buffer> = {
  good,
  'wrong-bytes': wrong,
  short: good.subarray(0, 100_000),
  // md5 right, sha512 wrong: the record's multihash is tampered below
  'bad-multihash': good,
  broken: good,
};

function record(id: string): Record<string, unknown> {
  return {
    id,
    name: id,
    status: 'active',
    size: good.length,
    checksum: createHash('md5').update(good).digest('hex'),
    os_hash_algo: 'sha512',
    os_hash_value: id === 'bad-multihash' ? 'ab'.repeat(64) : createHash('sha512').update(good).digest('hex'),
    tags: [],
  };
}

let srv: LocalServer;
let client: IrisClient;
let work: string;

before(async () => {
  srv = await localServer((req, res) => {
    const m = /^\/v2\/images\/([^/]+)(\/file)?$/.exec(req.url ?? '');
    if (m === null || served[m[1]!] === undefined) return sendJson(res, 404, { message: 'nope' });
    if (m[2] === undefined) return sendJson(res, 200, record(m[1]!));
    const bytes = served[m[1]!]!;
    if (m[1] === 'broken') {
      // Promise everything, send half, hang up.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
      res.write(bytes.subarray(0, bytes.length / 2), () => res.destroy());
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    res.end(bytes);
  });
  client = createIrisClient({ endpoint: srv.url, retries: 0 });
  work = mkdtempSync(join(tmpdir(), 'iris-verify-'));
});

after(async () => {
  await client.close();
  await srv.close();
  rmSync(work, { recursive: true, force: true });
});

test('a correct download passes every check', async () => {
  const out = join(work, 'good.img');
  const result = await client.images.downloadToFile('good', out);
  assert.deepEqual([...result.verified], ['size', 'md5', 'sha512']);
  assert.equal(result.bytes, good.length);
  assert.ok(existsSync(out));
  rmSync(out);
});

for (const [id, check] of [
  ['wrong-bytes', 'md5'],
  ['bad-multihash', 'sha512'],
  ['short', 'size'],
] as const) {
  test(`${id}: downloadToFile fails on ${check} and leaves no file`, async () => {
    const out = join(work, `${id}.img`);
    await assert.rejects(client.images.downloadToFile(id, out), (err: unknown) => {
      assert.ok(err instanceof IrisIntegrityError, `got ${String(err)}`);
      assert.equal(err.check, check);
      return true;
    });
    assert.deepEqual(readdirSync(work), [], 'neither the file nor its .part may remain');
  });
}

test('a connection lost mid-download is an IrisConnectionError and leaves no file', async () => {
  const out = join(work, 'broken.img');
  await assert.rejects(client.images.downloadToFile('broken', out), (err: unknown) => {
    assert.ok(err instanceof IrisConnectionError, `got ${String(err)}`);
    assert.match(err.message, /Download of image broken broke off/);
    return true;
  });
  assert.deepEqual(readdirSync(work), []);
});

test('the stream returned by download() fails at its end on a mismatch', async () => {
  const download = await client.images.download('wrong-bytes');
  await assert.rejects(
    (async () => {
      for await (const _chunk of download.stream) {
        // consume
      }
    })(),
    IrisIntegrityError,
  );
});

test('verify: false turns the checks off', async () => {
  const download = await client.images.download('wrong-bytes', { verify: false });
  let received = 0;
  for await (const chunk of download.stream) received += chunk.length;
  assert.equal(received, wrong.length);
  assert.deepEqual([...download.verifies], []);
});
