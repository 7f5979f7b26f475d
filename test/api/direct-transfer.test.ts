/**
 * Uploads and stages read straight from the socket on a transfer thread (`[iris]
 * direct_transfers`, src/blob/fd-transfer.ts) must behave exactly as the streaming path: the
 * same answers, the same digests and virtual sizes, the same refusals and failures, nothing left
 * behind. Two servers, one with direct transfers and one without, get the same requests; the
 * direct one's debug log and metrics prove which path each body took.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { files, partials } from '../helpers/store-files.js';
import { metricsUrlOf, scrape } from '../helpers/metrics-scrape.js';
import { valueOf } from '../helpers/prometheus-text.js';

const MiB = 1024 * 1024;
let direct: IrisProcess;
let streaming: IrisProcess;
const scratch = mkdtempSync(join(tmpdir(), 'iris-direct-'));

before(async () => {
  const env = { IRIS__DEFAULT__DEBUG: 'true', IRIS__IRIS__BODY_IDLE_TIMEOUT: '2', IRIS__DEFAULT__WORKERS: '1' };
  [direct, streaming] = await Promise.all([
    startIris({ env: { ...env, IRIS__IRIS__DIRECT_TRANSFERS: 'true' } }),
    startIris({ env: { ...env, IRIS__IRIS__DIRECT_TRANSFERS: 'false' } }),
  ]);
});
after(async () => {
  await Promise.all([direct?.stop(), streaming?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

async function newImage(server: IrisProcess, diskFormat = 'raw'): Promise<string> {
  const r = await json('POST', `${server.baseUrl}/v2/images`, { name: 'direct', disk_format: diskFormat, container_format: 'bare' });
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

/** The debug lines of `server` about puts of `id`. */
function putTraces(server: IrisProcess, id: string): Array<Record<string, unknown>> {
  return server
    .logs()
    .split('\n')
    .filter((line) => line.includes(id) && line.includes('"op":"put"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The fields of an image that the data decides. */
async function dataFields(server: IrisProcess, id: string): Promise<Record<string, unknown>> {
  const r = await json('GET', `${server.baseUrl}/v2/images/${id}`);
  assert.equal(r.status, 200, describe(r));
  const { status, size, checksum, os_hash_algo, os_hash_value, virtual_size } = r.body;
  return { status, size, checksum, os_hash_algo, os_hash_value, virtual_size };
}

/** Uploads `data` to a new image on both servers; returns both answers and images. */
async function uploadBoth(data: Buffer, diskFormat = 'raw') {
  const one = async (server: IrisProcess) => {
    const id = await newImage(server, diskFormat);
    const answer = await putBytes(`${server.baseUrl}/v2/images/${id}/file`, data);
    return { server, id, answer, image: await dataFields(server, id) };
  };
  return Promise.all([one(direct), one(streaming)] as const);
}

test('an upload on a transfer thread stores the same bytes, digests and answer as the streaming path', async () => {
  const data = randomBytes(3 * MiB + 12345);
  const threaded = async () => valueOf(await scrape(await metricsUrlOf(direct)), 'iris_direct_transfers_total');
  const before = await threaded();
  const [d, s] = await uploadBoth(data);
  assert.equal((await threaded()) - before, 1, 'iris_direct_transfers_total counted it');
  assert.equal(d.answer.status, 204, describe(d.answer));
  assert.equal(s.answer.status, 204, describe(s.answer));
  assert.deepEqual(d.image, s.image);
  assert.equal(d.image.checksum, createHash('md5').update(data).digest('hex'));
  assert.equal(d.image.os_hash_value, createHash('sha512').update(data).digest('hex'));
  assert.equal(d.image.size, data.length);
  // The connection the thread read from is not reused.
  assert.equal(d.answer.headers.get('connection'), 'close');
  assert.deepEqual(putTraces(direct, d.id).map((t) => t.direct), [true]);
  assert.deepEqual(putTraces(streaming, s.id).map((t) => t.direct), [undefined]);
  const back = await fetch(`${direct.baseUrl}/v2/images/${d.id}/file`);
  assert.ok(Buffer.from(await back.arrayBuffer()).equals(data), 'the stored bytes are the uploaded ones');
});

test('a body under 1 MiB takes the streaming path even where direct transfers are on', async () => {
  const id = await newImage(direct);
  const r = await putBytes(`${direct.baseUrl}/v2/images/${id}/file`, randomBytes(MiB - 1));
  assert.equal(r.status, 204, describe(r));
  assert.deepEqual(putTraces(direct, id).map((t) => t.direct), [undefined]);
});

test('the format inspector runs on the transfer thread: virtual size, and the same refusals', async (t) => {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('qemu-img is not installed');
    return;
  }
  const raw = join(scratch, 'base.raw');
  const qcow2 = join(scratch, 'disk.qcow2');
  const backed = join(scratch, 'backed.qcow2');
  execFileSync('sh', ['-c', `head -c ${3 * MiB} /dev/urandom > ${raw}`]);
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', raw, '-F', 'raw', backed]);
  const image = readFileSync(qcow2);
  assert.ok(image.length >= MiB, 'the qcow2 image is large enough to go direct');

  const [d, s] = await uploadBoth(image, 'qcow2');
  assert.equal(d.answer.status, 204, describe(d.answer));
  assert.deepEqual(d.image, s.image);
  assert.equal(d.image.virtual_size, 3 * MiB);
  assert.deepEqual(putTraces(direct, d.id).map((t) => t.direct), [true]);

  // Declared as something else, and a qcow2 with a backing file (padded past 1 MiB): whatever
  // the streaming path answers, the direct path answers the same, and stores nothing.
  const padded = Buffer.concat([readFileSync(backed), Buffer.alloc(2 * MiB)]);
  const statuses: number[] = [];
  for (const [data, format] of [
    [image, 'raw'],
    [padded, 'qcow2'],
  ] as const) {
    const [dd, ss] = await uploadBoth(data, format);
    statuses.push(dd.answer.status);
    assert.equal(dd.answer.status, ss.answer.status, `${format}: ${describe(dd.answer)} against ${describe(ss.answer)}`);
    assert.deepEqual(dd.answer.body, ss.answer.body);
    assert.deepEqual(dd.image, ss.image);
    assert.deepEqual(putTraces(direct, dd.id).map((t) => t.direct), [true]);
    if (dd.answer.status !== 204) {
      assert.equal(dd.image.status, 'queued');
      assert.deepEqual(files(join(direct.dataDir, 'images')).filter((f) => f.includes(dd.id)), []);
    }
  }
  assert.equal(statuses[1], 400, 'a qcow2 with a backing file is refused');
});

/**
 * Sends a raw PUT declaring `declared` bytes, writes `sent` of them, then half-closes (`end`)
 * or goes quiet (`stall`); resolves with the answer's status line and body.
 */
function rawPut(server: IrisProcess, path: string, declared: number, sent: number, then: 'end' | 'stall'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`);
      const body = randomBytes(sent);
      if (then === 'end') socket.end(body);
      else socket.write(body);
    });
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      answer += d;
      // A stalled client keeps its side open: the answer is complete once its body is in.
      if (then === 'stall' && /\r\n\r\n[\s\S]*\}\s*$/.test(answer)) socket.destroy();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

for (const [what, then, status] of [
  ['a client that half-closes mid-body', 'end', 400],
  ['a client that stops sending (body_idle_timeout)', 'stall', 408],
] as const) {
  test(`${what} gets the streaming path's answer; the image is queued again and no file is left`, async () => {
    const one = async (server: IrisProcess) => {
      const id = await newImage(server);
      const answer = await rawPut(server, `/v2/images/${id}/file`, 4 * MiB, 2 * MiB, then);
      return { id, answer, image: await dataFields(server, id) };
    };
    const [d, s] = await Promise.all([one(direct), one(streaming)] as const);
    assert.match(d.answer, new RegExp(`^HTTP/1.1 ${status} `), d.answer);
    assert.equal(d.answer.split('\r\n')[0], s.answer.split('\r\n')[0]);
    assert.equal(d.answer.slice(d.answer.indexOf('\r\n\r\n')), s.answer.slice(s.answer.indexOf('\r\n\r\n')));
    assert.equal(d.image.status, 'queued');
    assert.deepEqual(putTraces(direct, d.id).map((t) => t.direct), [true]);
    assert.deepEqual(files(join(direct.dataDir, 'images')).filter((f) => f.includes(d.id)), []);
    assert.deepEqual(partials(join(direct.dataDir, 'images')), []);
  });
}

/** Stages `data` for a new image of `server` and imports it with glance-direct; returns the image id and its data fields. */
async function stageAndImport(server: IrisProcess, data: Buffer, diskFormat = 'raw') {
  const id = await newImage(server, diskFormat);
  const staged = await putBytes(`${server.baseUrl}/v2/images/${id}/stage`, data);
  assert.equal(staged.status, 204, describe(staged));
  const imported = await json('POST', `${server.baseUrl}/v2/images/${id}/import`, { method: { name: 'glance-direct' } });
  assert.equal(imported.status, 202, describe(imported));
  // The import runs in the background: poll the image until it leaves `importing`.
  let image = await dataFields(server, id);
  for (let i = 0; i < 300 && image.status === 'importing'; i++) {
    await sleep(50);
    image = await dataFields(server, id);
  }
  return { id, image };
}

test('a stage on a transfer thread, then glance-direct: the staged file becomes the image by a link, hashed as a copy would be', async () => {
  const data = randomBytes(2 * MiB + 7);
  const [linked, copied] = await Promise.all([stageAndImport(direct, data), stageAndImport(streaming, data)]);
  assert.equal(linked.image.status, 'active', JSON.stringify(linked.image));
  assert.equal(linked.image.checksum, createHash('md5').update(data).digest('hex'));
  assert.deepEqual({ ...linked.image }, { ...copied.image }, 'the same fields as the streaming server');
  // The stage went to a thread; the import linked the staged file and read it once on a thread.
  assert.deepEqual(putTraces(direct, linked.id).map((t) => [t.direct ?? false, t.linked ?? false]), [[true, false], [false, true]]);
  assert.deepEqual(putTraces(streaming, copied.id).map((t) => [t.direct ?? false, t.linked ?? false]), [[false, false], [false, false]]);
  const file = join(direct.dataDir, 'images', linked.id);
  assert.ok(readFileSync(file).equals(data));
  // The staged name is gone: the store's file is the only name of those bytes.
  assert.equal(statSync(file).nlink, 1);
  assert.equal(valueOf(await scrape(await metricsUrlOf(direct)), 'iris_linked_files_total') >= 1, true);
});

test('a linked import still meets the format inspector: a refused file fails the task, the image is queued, nothing stored', async () => {
  const data = randomBytes(2 * MiB);
  const { id, image } = await stageAndImport(direct, data, 'qcow2');
  assert.equal(image.status, 'queued', JSON.stringify(image));
  assert.deepEqual(putTraces(direct, id).map((t) => [t.linked ?? false, typeof t.failed]), [[false, 'undefined'], [true, 'string']]);
  assert.deepEqual(files(join(direct.dataDir, 'images')).filter((f) => f.includes(id)), []);
  assert.deepEqual(partials(join(direct.dataDir, 'images')), []);
});

test('more uploads at once than transfer threads: the rest stream, all succeed', async () => {
  const bodies = Array.from({ length: 5 }, () => randomBytes(2 * MiB));
  const results = await Promise.all(
    bodies.map(async (data) => {
      const id = await newImage(direct);
      const answer = await putBytes(`${direct.baseUrl}/v2/images/${id}/file`, data);
      return { id, answer, image: await dataFields(direct, id), md5: createHash('md5').update(data).digest('hex') };
    }),
  );
  for (const r of results) {
    assert.equal(r.answer.status, 204, describe(r.answer));
    assert.equal(r.image.checksum, r.md5);
  }
  const paths = results.map((r) => putTraces(direct, r.id)[0]?.direct === true);
  assert.ok(paths.some(Boolean), 'some went direct');
  // What the metrics say matches the traces: every body went one way or the other.
  const metrics = await scrape(await metricsUrlOf(direct));
  const threaded = valueOf(metrics, 'iris_direct_transfers_total');
  assert.ok(threaded >= paths.filter(Boolean).length, `iris_direct_transfers_total ${threaded}`);
});

