/**
 * /metrics on the admin listener of a real server: the figures move as requests happen, by
 * route template (never the raw URL), status, store and operation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { metricsUrlOf, scrape } from '../helpers/metrics-scrape.js';
import { samplesOf, valueOf } from '../helpers/prometheus-text.js';

const ADMIN = { 'X-Project-Id': 'project-admin', 'X-Roles': 'admin,member', 'X-User-Id': 'admin' };

let iris: IrisProcess;
let base: string;
let metricsUrl: string;

before(async () => {
  iris = await startIris();
  base = iris.baseUrl;
  metricsUrl = await metricsUrlOf(iris);
});
after(() => iris?.stop());

test('the admin listener is on loopback, apart from the API, and serves /metrics only', async () => {
  const url = new URL(metricsUrl);
  assert.equal(url.hostname, '127.0.0.1');
  assert.notEqual(url.port, new URL(base).port);
  assert.equal((await fetch(new URL('/v2/images', url))).status, 404);
  // The API port has no /metrics of its own (Glance's version list answers unknown paths).
  const onApi = await fetch(`${base}/metrics`);
  assert.equal(onApi.status, 300);
  await onApi.arrayBuffer();
});

test('a request increments exactly its route template series, and no label holds an id', async () => {
  const created = await json('POST', `${base}/v2/images`, { name: 'm1', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  assert.equal(created.status, 201, describe(created));
  const id = created.body.id as string;

  const before = await scrape(metricsUrl);
  const shown = await json('GET', `${base}/v2/images/${id}`, undefined, ADMIN);
  assert.equal(shown.status, 200, describe(shown));
  const missing = await json('GET', `${base}/v2/images/${randomUUID()}`, undefined, ADMIN);
  assert.equal(missing.status, 404, describe(missing));
  // A path no route matches is counted as `unmatched`, never under its URL.
  const nowhere = await json('GET', `${base}/v2/nowhere/${id}`, undefined, ADMIN);
  assert.equal(nowhere.status, 404, describe(nowhere));
  const afterShow = await scrape(metricsUrl);

  const show = { method: 'GET', route: '/v2/images/:id', status: '200' };
  const notFound = { method: 'GET', route: '/v2/images/:id', status: '404' };
  assert.equal(valueOf(afterShow, 'iris_http_requests_total', show) - valueOf(before, 'iris_http_requests_total', show), 1);
  assert.equal(valueOf(afterShow, 'iris_http_requests_total', notFound) - valueOf(before, 'iris_http_requests_total', notFound), 1);
  assert.equal(
    valueOf(afterShow, 'iris_http_request_duration_seconds_count', show) - valueOf(before, 'iris_http_request_duration_seconds_count', show),
    1,
  );
  // Nothing else moved among the request counters (the scrape is on another listener).
  const total = (e: typeof before) => samplesOf(e, 'iris_http_requests_total').reduce((sum, s) => sum + s.value, 0);
  const unmatched = { method: 'GET', route: 'unmatched', status: '404' };
  assert.equal(valueOf(afterShow, 'iris_http_requests_total', unmatched) - valueOf(before, 'iris_http_requests_total', unmatched), 1);
  assert.equal(total(afterShow) - total(before), 3);
  assert.ok(valueOf(afterShow, 'iris_http_sent_bytes_total', { route: '/v2/images/:id' }) > valueOf(before, 'iris_http_sent_bytes_total', { route: '/v2/images/:id' }));

  for (const sample of afterShow.samples) {
    for (const value of Object.values(sample.labels)) assert.ok(!value.includes(id), `${sample.name} carries the image id: ${JSON.stringify(sample.labels)}`);
  }
  assert.equal(afterShow.types.get('iris_http_request_duration_seconds'), 'histogram');
});

// 2 MiB goes through a transfer thread ([iris] direct_transfers), which the socket's own byte
// counts miss; 300 kB through the event loop.
for (const [size, path] of [
  [300_000, 'the event loop'],
  [2 * 1024 * 1024 + 1, 'a transfer thread'],
] as const) {
test(`an upload moves bytes in and a store put appears with its store label; a download a get (${path})`, async () => {
  const created = await json('POST', `${base}/v2/images`, { name: 'm2', disk_format: 'raw', container_format: 'bare' }, ADMIN);
  const id = created.body.id as string;
  const data = randomBytes(size);
  const before = await scrape(metricsUrl);
  const put = await putBytes(`${base}/v2/images/${id}/file`, data, ADMIN);
  assert.equal(put.status, 204, describe(put));
  const mid = await scrape(metricsUrl);

  const route = { route: '/v2/images/:id/file' };
  const received = valueOf(mid, 'iris_http_received_bytes_total', route) - valueOf(before, 'iris_http_received_bytes_total', route);
  assert.ok(received >= data.length && received < data.length + 4096, `received ${received}`);
  const putOk = { store: 'file', operation: 'put', outcome: 'ok' };
  assert.equal(valueOf(mid, 'iris_store_operation_duration_seconds_count', putOk) - valueOf(before, 'iris_store_operation_duration_seconds_count', putOk), 1);
  assert.equal(valueOf(mid, 'iris_store_bytes_total', { store: 'file', operation: 'put' }) - valueOf(before, 'iris_store_bytes_total', { store: 'file', operation: 'put' }), data.length);
  assert.equal(valueOf(mid, 'iris_http_transfers_in_flight', { kind: 'upload' }), 0);

  const down = await getBytes(`${base}/v2/images/${id}/file`, ADMIN);
  assert.equal(down.status, 200);
  assert.ok(down.bytes.equals(data));
  // The get is recorded when its stream closes, just after the last byte went out: poll for it.
  const getOk = { store: 'file', operation: 'get', outcome: 'ok' };
  let end = await scrape(metricsUrl);
  for (let i = 0; i < 100 && valueOf(end, 'iris_store_operation_duration_seconds_count', getOk) === valueOf(mid, 'iris_store_operation_duration_seconds_count', getOk); i++) {
    await sleep(20);
    end = await scrape(metricsUrl);
  }
  assert.equal(valueOf(end, 'iris_store_operation_duration_seconds_count', getOk) - valueOf(mid, 'iris_store_operation_duration_seconds_count', getOk), 1);
  assert.equal(valueOf(end, 'iris_store_bytes_total', { store: 'file', operation: 'get' }) - valueOf(mid, 'iris_store_bytes_total', { store: 'file', operation: 'get' }), data.length);
  const sent = valueOf(end, 'iris_http_sent_bytes_total', route) - valueOf(mid, 'iris_http_sent_bytes_total', route);
  assert.ok(sent >= data.length, `sent ${sent}`);
  assert.equal(valueOf(end, 'iris_http_transfers_in_flight', { kind: 'download' }), 0);
});
}

test('database, tasks, notifications and process series are there', async () => {
  const e = await scrape(metricsUrl);
  assert.equal(valueOf(e, 'iris_db_connections_max'), 1); // SQLite: one handle
  assert.ok(valueOf(e, 'iris_db_query_duration_seconds_count', { operation: 'select', outcome: 'ok' }) > 0);
  assert.ok(valueOf(e, 'iris_db_connection_wait_seconds_count') > 0);
  assert.equal(valueOf(e, 'iris_db_connections_in_use'), 0);
  for (const status of ['pending', 'processing', 'success', 'failure']) {
    assert.equal(samplesOf(e, 'iris_tasks').filter((s) => s.labels.status === status).length, 1, status);
  }
  assert.equal(valueOf(e, 'iris_notifications_connected'), 1);
  assert.equal(samplesOf(e, 'iris_notifications_dropped_total').length, 1);
  assert.ok(valueOf(e, 'process_cpu_user_seconds_total') > 0);
  assert.ok(valueOf(e, 'nodejs_heap_size_used_bytes') > 0);
});

test('workers = 2: the main process serves the figures of every worker, summed', async () => {
  // Forked workers each load the code again: slow on a busy machine.
  const cluster = await startIris({ env: { IRIS__DEFAULT__WORKERS: '2' }, readyTimeoutMs: 180_000 });
  try {
    const url = await metricsUrlOf(cluster);
    // The main process asks every worker: wait until both serve (startIris returns at the first).
    for (let i = 0; (cluster.logs().match(/Iris listening/g) ?? []).length < 2; i++) {
      assert.ok(i < 3600, 'the second worker never started');
      await sleep(50);
    }
    const series = { method: 'GET', route: '/v2/images', status: '200' };
    const before = valueOf(await scrape(url), 'iris_http_requests_total', series);
    // Separate connections, so both workers are likely to answer some; the sum is what counts.
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${cluster.baseUrl}/v2/images`, { headers: { ...ADMIN, Connection: 'close' } });
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    const after = await scrape(url);
    assert.equal(valueOf(after, 'iris_http_requests_total', series) - before, 6);
    // One database for all: the task gauge is one worker's answer, not the sum.
    assert.equal(samplesOf(after, 'iris_tasks').length, 4);
    assert.equal(valueOf(after, 'iris_db_connections_max'), 2); // two workers, one SQLite handle each
  } finally {
    await cluster.stop();
  }
});
