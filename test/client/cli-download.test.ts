/**
 * `iris image-download` end to end: a 192 MiB image streams to disk with bounded memory and a
 * verified checksum (a live Iris); a server that serves wrong bytes (a tiny local stand-in)
 * makes the download fail with exit 1 and leave no file behind.
 *
 * Memory is judged from the child's own peak RSS, which `--debug` prints at exit
 * (`process.resourceUsage().maxRSS`), against the peak of a command that moves no data: holding
 * the image in memory would add at least 192 MiB; streaming adds buffers and GC slack only. The
 * slack alone reaches ~60 MiB (V8 collects freed Buffers once external memory has grown by about
 * 64 MiB), so the image is three times that and the limit sits between the two.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createIrisClient } from '../../src/client/index.js';
import { makeHome } from '../helpers/cli.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { iris, peakRssKiB } from './iris-cli.js';
import { localServer, sendJson, type LocalServer } from './local-server.js';

const SIZE = 192 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Streaming must stay well below what holding the whole image would cost (192 MiB). */
const MAX_EXTRA_KIB = 128 * 1024;

let server: IrisProcess;
let liar: LocalServer;
let home: string;
let work: string;
let imageId: string;
let md5: string;

before(async () => {
  server = await startIris();
  home = makeHome();
  work = mkdtempSync(join(tmpdir(), 'iris-cli-dl-'));
  // 192 MiB of random data, generated while uploading (never held whole in the test either).
  const hash = createHash('md5');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < SIZE; sent += CHUNK) {
      const chunk = randomBytes(CHUNK);
      hash.update(chunk);
      yield chunk;
    }
  }
  const client = createIrisClient({ endpoint: server.baseUrl });
  try {
    const image = await client.images.create({ name: 'big', disk_format: 'raw', container_format: 'bare' });
    await client.images.upload(image.id, Readable.from(chunks()), { size: SIZE });
    imageId = image.id;
    md5 = hash.digest('hex');
  } finally {
    await client.close();
  }

  const good = Buffer.from('the promised bytes');
  liar = await localServer((req, res) => {
    if (req.url === '/v2/images/liar') {
      return sendJson(res, 200, { id: 'liar', status: 'active', size: good.length, checksum: createHash('md5').update(good).digest('hex') });
    }
    if (req.url === '/v2/images/liar/file') {
      const bad = Buffer.from('the PROMISED bytes'); // same length, other content
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bad.length });
      return res.end(bad);
    }
    sendJson(res, 404, { message: 'no' });
  });
});

after(async () => {
  await liar?.close();
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

async function fileMd5(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

test('a 192 MiB download streams with bounded memory and a verified checksum', { timeout: 120_000 }, async () => {
  const baseline = await iris(server.baseUrl, home, ['--debug', 'image-show', imageId]);
  assert.equal(baseline.code, 0, baseline.describe());

  const out = join(work, 'big.img');
  const r = await iris(server.baseUrl, home, ['--debug', 'image-download', '--file', out, imageId], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.describe());
  assert.equal(existsSync(`${out}.part`), false);
  assert.equal(await fileMd5(out), md5);

  const extra = peakRssKiB(r) - peakRssKiB(baseline);
  console.error(`${SIZE >> 20} MiB download: peak RSS ${extra} KiB above a data-less command`);
  assert.ok(
    extra < MAX_EXTRA_KIB,
    `download peak RSS ${peakRssKiB(r)} KiB is ${extra} KiB above a data-less command (${peakRssKiB(baseline)} KiB)`,
  );
});

test('wrong bytes from the server: exit 1, one-line error, no file and no .part', async () => {
  const dir = mkdtempSync(join(work, 'liar-'));
  const r = await iris(liar.url, home, ['image-download', '--file', join(dir, 'out.img'), 'liar']);
  assert.equal(r.code, 1, r.describe());
  assert.match(r.stderr, /^Corrupt image download: md5 was [0-9a-f]{32}, expected [0-9a-f]{32}\n$/);
  assert.deepEqual(readdirSync(dir), []);
});
