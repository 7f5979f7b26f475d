/**
 * `iris image-download --file` of a 1 GiB image from a live Iris streams in constant memory
 * and verifies the data: the CLI child's peak RSS stays far below the image size, and the file
 * on disk has the md5 of the bytes uploaded.
 *
 * The image is made by streaming deterministic 1 MiB chunks (a seeded block stamped with its
 * index), hashed as they are generated, so the test never holds more than a chunk either.
 * Peak RSS comes from the kernel's accounting of the child (`/usr/bin/time -v`, "Maximum
 * resident set size") when GNU time is installed, and always from the CLI's own `--debug`
 * line (`process.resourceUsage().maxRSS`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createIrisClient } from '../../src/client/index.js';
import { makeHome, runCli } from '../helpers/cli.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { seededBytes } from './import-helpers.js';
import { IRIS_BIN, peakRssKiB } from './iris-cli.js';

const CHUNK = 1024 * 1024;
const SIZE = 1024 * CHUNK;
/** Generous: streaming needs buffers and GC slack, holding the image would need 1 GiB. */
const MAX_RSS_KIB = 200 * 1024;
const GNU_TIME = '/usr/bin/time';

let server: IrisProcess;
let home: string;
let work: string;
let imageId: string;
let md5: string;

function haveGnuTime(): boolean {
  try {
    accessSync(GNU_TIME, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** 1 GiB as 1024 chunks: a seeded 1 MiB block with the chunk index in its first 4 bytes. */
function* chunks(hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const block = seededBytes(CHUNK, 'iris-1gib');
  for (let i = 0; i < SIZE / CHUNK; i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32BE(i, 0);
    hash.update(chunk);
    yield chunk;
  }
}

before(async () => {
  server = await startIris();
  home = makeHome();
  work = mkdtempSync(join(tmpdir(), 'iris-cli-1gib-'));
  const hash = createHash('md5');
  const client = createIrisClient({ endpoint: server.baseUrl });
  try {
    const image = await client.images.create({ name: 'one-gib', disk_format: 'raw', container_format: 'bare' });
    await client.images.upload(image.id, Readable.from(chunks(hash)), { size: SIZE });
    imageId = image.id;
    md5 = hash.digest('hex');
    const stored = await client.images.get(image.id);
    assert.equal(stored.checksum, md5, 'Iris stored what was sent');
  } finally {
    await client.close();
  }
});

after(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

async function fileMd5(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * CHUNK })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

test('a 1 GiB image-download --file streams in constant memory with a verified checksum', { timeout: 300_000 }, async () => {
  const out = join(work, 'one-gib.img');
  const cliArgs = [IRIS_BIN, '--debug', 'image-download', '--file', out, imageId];
  const timed = haveGnuTime();
  const started = Date.now();
  const r = await runCli(timed ? GNU_TIME : process.execPath, timed ? ['-v', process.execPath, ...cliArgs] : cliArgs, {
    home,
    timeoutMs: 240_000,
    env: { OS_IMAGE_URL: server.baseUrl, OS_AUTH_TOKEN: 'dummy' },
  });
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 0, r.describe());

  const own = peakRssKiB(r);
  assert.ok(own < MAX_RSS_KIB, `the CLI's own peak RSS was ${own} KiB (limit ${MAX_RSS_KIB} KiB)`);
  if (timed) {
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    assert.ok(m, r.describe());
    assert.ok(Number(m[1]) < MAX_RSS_KIB, `GNU time measured a peak RSS of ${m[1]} KiB (limit ${MAX_RSS_KIB} KiB)`);
  }

  assert.equal(existsSync(`${out}.part`), false);
  assert.equal(statSync(out).size, SIZE);
  assert.equal(await fileMd5(out), md5);
  // On a failure this says where the time went; the budget itself is the test's timeout.
  console.error(`# 1 GiB download: ${seconds.toFixed(1)} s, peak RSS ${own} KiB`);
});
