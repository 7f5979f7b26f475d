/**
 * Format inspection on the import paths: every image of the corpus (test/format/corpus.ts)
 * goes through stage + glance-direct and through web-download (from a local server). Good ones
 * become active with the virtual size qemu-img reports; malicious, lying or broken ones fail
 * their task with the inspector's message, the image goes back to queued, and no store keeps
 * a byte of it.
 */
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { buildCorpus, corpusToolsPresent, type CorpusImage } from '../format/corpus.js';

const tools = corpusToolsPresent();
const skip = !tools && 'qemu-img, genisoimage or sgdisk missing';
const A = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };

let iris: IrisProcess;
let web: Server;
let port: number;
const served = new Map<string, Buffer>();

before(async () => {
  if (!tools) return;
  web = createServer((req, res) => {
    const data = served.get(req.url ?? '');
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': String(data.length) }).end(data);
  });
  web.listen(0, '127.0.0.1');
  await new Promise((r) => web.once('listening', r));
  port = (web.address() as AddressInfo).port;
  iris = await startIris({
    env: {
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
      IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(port),
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    },
  });
});
after(async () => {
  await iris?.stop();
  web?.close();
});

type Method = 'glance-direct' | 'web-download';

/** Imports `image` by `method`; resolves with the image and its task once the task ended. */
async function importOne(image: CorpusImage, method: Method, n: number): Promise<{ shown: any; task: any }> {
  const base = iris.baseUrl;
  const created = await json('POST', `${base}/v2/images`, { name: image.name, disk_format: image.declared, container_format: 'bare' }, A);
  assert.equal(created.status, 201, describe(created));
  const id: string = created.body.id;
  let body: unknown;
  if (method === 'glance-direct') {
    const staged = await putBytes(`${base}/v2/images/${id}/stage`, image.data, A);
    assert.equal(staged.status, 204, `${image.name}: ${describe(staged)}`);
    body = { method: { name: 'glance-direct' } };
  } else {
    served.set(`/${n}.img`, image.data);
    body = { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/${n}.img` } };
  }
  const r = await json('POST', `${base}/v2/images/${id}/import`, body, A);
  assert.equal(r.status, 202, `${image.name}: ${describe(r)}`);
  for (let i = 0; i < 600; i++) {
    const shown = (await json('GET', `${base}/v2/images/${id}`, undefined, A)).body;
    if (shown.os_glance_import_task === undefined && shown.status !== 'importing') {
      const tasks = (await json('GET', `${base}/v2/images/${id}/tasks`, undefined, A)).body.tasks;
      return { shown, task: tasks.at(-1) };
    }
    await sleep(25);
  }
  throw new Error(`${image.name} via ${method}: import did not end\n${iris.logs().slice(-2000)}`);
}

function storeFilesOf(id: string): string[] {
  const out: string[] = [];
  for (const dir of ['images/local', 'images/local2', 'staging']) {
    try {
      for (const f of readdirSync(join(iris.dataDir, dir), { recursive: true }) as string[]) if (f.includes(id)) out.push(`${dir}/${f}`);
    } catch {
      // not created yet
    }
  }
  return out;
}

async function inParallel<T>(items: Iterable<T>, width: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const lane = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

for (const method of ['glance-direct', 'web-download'] as const) {
  test(`${method}: every good image becomes active with qemu-img's virtual size`, { skip }, async () => {
    await inParallel(buildCorpus().good.entries(), 4, async ([i, image]) => {
      assert.ok(image.expect.accept);
      const { shown, task } = await importOne(image, method, i);
      assert.equal(shown.status, 'active', `${image.name}: ${JSON.stringify(task)}`);
      assert.equal(task.status, 'success', image.name);
      assert.equal(shown.size, image.data.length, image.name);
      assert.equal(shown.virtual_size, image.expect.virtualSize, image.name);
      assert.equal(shown.stores, 'local', image.name);
    });
  });

  test(`${method}: every malicious, lying or broken image fails its task and nothing is stored`, { skip }, async () => {
    await inParallel(buildCorpus().bad.entries(), 4, async ([i, image]) => {
      const { shown, task } = await importOne(image, method, 1000 + i);
      assert.equal(task.status, 'failure', `${image.name}: ${JSON.stringify(task)}`);
      const reason = image.expect.accept === false && image.expect.check === 'mismatch' ? /does not match the uploaded data/ : /failed safety checks/;
      assert.match(task.message, reason, image.name);
      assert.equal(shown.status, 'queued', image.name);
      assert.equal(shown.checksum, null, image.name);
      assert.equal(shown.stores, undefined, image.name);
      assert.equal(shown.os_glance_failed_import, 'local', image.name);
      assert.deepEqual(storeFilesOf(shown.id), [], `${image.name}: data left behind`);
    });
  });
}
