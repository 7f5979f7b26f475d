/**
 * Format inspection over HTTP (PUT /v2/images/{id}/file) against a real server: every good
 * image of the corpus (test/format/corpus.ts) becomes active with the virtual size qemu-img
 * reports; every malicious, lying or broken one is refused with 400, the image stays queued
 * and nothing is left in the store; a bounded fuzz of header mutations never gets a 5xx and
 * never gets an image with a backing file or data file accepted. Then the two options:
 * require_image_format_match=false and gpt_safety_checks_nonfatal.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import type { HttpAnswer } from '../helpers/http.js';
import { buildCorpus, corpusToolsPresent, qemuInfoMany } from '../format/corpus.js';
import type { CorpusImage } from '../format/corpus.js';
import { mutants } from '../format/mutate.js';
import { seededRandom } from '../format/seeded-random.js';
import { judgeDeclaredFormat } from '../../src/format/declared-format.js';
import { inspectBuffer } from '../../src/format/inspector.js';

const tools = corpusToolsPresent();
const skip = !tools && 'qemu-img, genisoimage or sgdisk missing';
const FUZZ_ROUNDS = 300;
const FUZZ_SEED = 0xf00d;

let iris: IrisProcess;
before(async () => {
  if (tools) iris = await startIris();
});
after(() => iris?.stop());

async function createImage(server: IrisProcess, diskFormat: string, containerFormat = 'bare'): Promise<string> {
  const r = await json('POST', `${server.baseUrl}/v2/images`, { name: 'inspected', disk_format: diskFormat, container_format: containerFormat });
  assert.equal(r.status, 201, describe(r));
  return r.body.id;
}

/** Uploads `data`, as one body or as a chunked stream of random small pieces. */
async function upload(server: IrisProcess, id: string, data: Buffer, chunked = false): Promise<HttpAnswer> {
  const url = `${server.baseUrl}/v2/images/${id}/file`;
  if (!chunked) return putBytes(url, data);
  const random = seededRandom(data.length);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < data.length; ) {
        const n = random.int(1, 100_000);
        controller.enqueue(data.subarray(at, at + n));
        at += n;
      }
      controller.close();
    },
  });
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
    body,
    duplex: 'half',
    signal: AbortSignal.timeout(60_000),
  } as RequestInit);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text, text };
}

/** Files in the server's store whose name mentions the image id (staging files included). */
function storeFilesOf(server: IrisProcess, id: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.includes(id)) out.push(join(dir, e.name));
    }
  };
  walk(join(server.dataDir, 'images'));
  return out;
}

/** Asserts the upload was refused cleanly: 400, queued, no data, no file. */
async function assertRefused(server: IrisProcess, id: string, r: HttpAnswer, what: string): Promise<void> {
  assert.equal(r.status, 400, `${what}: ${describe(r)}`);
  const image = (await json('GET', `${server.baseUrl}/v2/images/${id}`)).body;
  assert.equal(image.status, 'queued', what);
  assert.equal(image.size, null, what);
  assert.equal(image.virtual_size, null, what);
  assert.equal(image.checksum, null, what);
  assert.deepEqual(storeFilesOf(server, id), [], `${what}: data left in the store`);
}

test('every good image becomes active with the virtual size qemu-img reports', { skip }, async () => {
  await inParallel(buildCorpus().good.entries(), 4, async ([i, image]) => {
    assert.ok(image.expect.accept);
    const id = await createImage(iris, image.declared);
    const r = await upload(iris, id, image.data, i % 2 === 1);
    assert.equal(r.status, 204, `${image.name}: ${describe(r)}`);
    const shown = (await json('GET', `${iris.baseUrl}/v2/images/${id}`)).body;
    assert.equal(shown.status, 'active', image.name);
    assert.equal(shown.size, image.data.length, image.name);
    assert.equal(shown.virtual_size, image.expect.virtualSize, image.name);
    assert.equal(storeFilesOf(iris, id).length, 1, image.name);
  });
});

test('every malicious, lying or broken image is refused: 400, still queued, nothing stored', { skip }, async () => {
  await inParallel(buildCorpus().bad.entries(), 4, async ([i, image]) => {
    const id = await createImage(iris, image.declared);
    const r = await upload(iris, id, image.data, i % 2 === 1);
    await assertRefused(iris, id, r, image.name);
    const reason = image.expect.accept === false && image.expect.check === 'mismatch' ? /does not match the uploaded data/ : /failed safety checks/;
    assert.match(r.text, reason, image.name);
  });
  // A refused image takes a good upload afterwards.
  const good = buildCorpus().good.find((g) => g.declared === 'qcow2')!;
  const bad = buildCorpus().bad[0];
  assert.ok(bad, 'the corpus has no bad image');
  const id = await createImage(iris, 'qcow2');
  await assertRefused(iris, id, await upload(iris, id, bad.data), 'first attempt');
  assert.equal((await upload(iris, id, good.data)).status, 204);
  assert.equal((await json('GET', `${iris.baseUrl}/v2/images/${id}`)).body.status, 'active');
});

test(`fuzz over HTTP: ${FUZZ_ROUNDS} mutated uploads, no 5xx, nothing unsafe becomes active`, { skip }, async () => {
  const corpus = buildCorpus();
  const active: { mutant: CorpusImage; data: Buffer }[] = [];
  const rounds = mutants(corpus.good, FUZZ_ROUNDS, FUZZ_SEED);
  // A few uploads in flight at once: the server must keep them apart, and the test stays quick.
  await inParallel(rounds.entries(), 4, async ([round, mutant]) => {
    const what = `round ${round}: ${mutant.base.name}, ${mutant.description}`;
    const id = await createImage(iris, mutant.base.declared);
    const r = await upload(iris, id, mutant.data, round % 3 === 0);
    // The server decides exactly as the inspector does on the whole buffer.
    const verdict = judgeDeclaredFormat(
      inspectBuffer(mutant.data),
      { diskFormat: mutant.base.declared, containerFormat: 'bare' },
      { requireImageFormatMatch: true },
    );
    if (!verdict.accept) {
      await assertRefused(iris, id, r, what);
      return;
    }
    assert.equal(r.status, 204, `${what}: ${describe(r)}`);
    const shown = (await json('GET', `${iris.baseUrl}/v2/images/${id}`)).body;
    assert.equal(shown.status, 'active', what);
    assert.equal(shown.virtual_size, verdict.virtualSize, what);
    active.push({ mutant: mutant.base, data: mutant.data });
  });
  // What became active opens in qemu without a backing file or data file, however it is read.
  const files = active.map((a, i) => {
    const file = join(corpus.dir, `http-mutant-${i}`);
    writeFileSync(file, a.data);
    return file;
  });
  const infos = qemuInfoMany(files.flatMap((path, i) => [{ path, format: active[i]!.mutant.qemuFormat }, { path }]));
  for (const [i, info] of infos.entries()) {
    if (info === null) continue;
    assert.equal(info['backing-filename'], undefined, `${files[i >> 1]}: active with a backing file`);
    assert.equal(info['format-specific']?.data?.['data-file'], undefined, `${files[i >> 1]}: active with a data file`);
  }
  // The server survived all of it.
  assert.equal((await json('GET', `${iris.baseUrl}/v2/images?limit=1`)).status, 200);
});

/** Runs `work` over `items` with at most `width` at a time; rejects with the first failure. */
async function inParallel<T>(items: Iterable<T>, width: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const lane = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

test('formats no inspector checks are accepted without a virtual size, unless unsafe', { skip }, async () => {
  const corpus = buildCorpus();
  const qcow2 = corpus.good.find((g) => g.declared === 'qcow2')!;
  const backing = corpus.bad.find((b) => b.name === 'qcow2 with a backing file')!;
  for (const [disk, container] of [['ami', 'ami'], ['aki', 'aki'], ['ploop', 'bare'], ['vmdk', 'ova']] as const) {
    const ok = await createImage(iris, disk, container);
    assert.equal((await upload(iris, ok, qcow2.data)).status, 204, `${disk}/${container}`);
    const shown = (await json('GET', `${iris.baseUrl}/v2/images/${ok}`)).body;
    assert.equal(shown.status, 'active');
    assert.equal(shown.virtual_size, null);
    const bad = await createImage(iris, disk, container);
    await assertRefused(iris, bad, await upload(iris, bad, backing.data), `backing file as ${disk}/${container}`);
  }
});

test('require_image_format_match=false and gpt_safety_checks_nonfatal=mbr relax only what they name', { skip }, async () => {
  const relaxed = await startIris({
    env: {
      IRIS__IMAGE_FORMAT__REQUIRE_IMAGE_FORMAT_MATCH: 'false',
      IRIS__IMAGE_FORMAT__GPT_SAFETY_CHECKS_NONFATAL: 'mbr',
    },
  });
  try {
    const corpus = buildCorpus();
    const find = (name: string) => corpus.bad.find((b) => b.name === name)!;
    const expectations: [string, number, number | null][] = [
      ['qcow2 declared raw', 204, find('qcow2 declared raw').data.length],
      ['raw declared qcow2', 204, null],
      ['MBR with an invalid boot flag', 204, find('MBR with an invalid boot flag').data.length],
      ['GPT behind a hybrid MBR', 400, null],
      ['qcow2 with a backing file', 400, null],
      ['vmdk descriptor with a FLAT extent on /etc/passwd', 400, null],
      ['qed', 400, null],
    ];
    for (const [name, status, virtualSize] of expectations) {
      const image = find(name);
      const id = await createImage(relaxed, image.declared);
      const r = await upload(relaxed, id, image.data);
      if (status === 400) {
        await assertRefused(relaxed, id, r, name);
        continue;
      }
      assert.equal(r.status, status, `${name}: ${describe(r)}`);
      const shown = (await json('GET', `${relaxed.baseUrl}/v2/images/${id}`)).body;
      assert.equal(shown.status, 'active', name);
      assert.equal(shown.virtual_size, virtualSize, name);
    }
  } finally {
    await relaxed.stop();
  }
});
