import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIrisMetrics } from './iris-metrics.js';

/** The value of one sample line of the exposition (`name{labels} value`), undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('observeHttp counts by method, route template and status; bytes by route', async () => {
  const m = createIrisMetrics();
  m.observeHttp({ method: 'GET', route: '/v2/images/:id', status: 200, seconds: 0.003, bytesIn: 100, bytesOut: 900 });
  m.observeHttp({ method: 'GET', route: '/v2/images/:id', status: 200, seconds: 0.2, bytesIn: 100, bytesOut: 0 });
  const text = await m.render();
  assert.equal(sample(text, 'iris_http_requests_total{method="GET",route="/v2/images/:id",status="200"}'), 2);
  const bucket = text.split('\n').find((l) => l.startsWith('iris_http_request_duration_seconds_bucket{') && l.includes('le="0.005"') && l.includes('route="/v2/images/:id"'));
  assert.equal(Number(bucket?.split(' ').pop()), 1, bucket);
  assert.equal(sample(text, 'iris_http_request_duration_seconds_count{method="GET",route="/v2/images/:id",status="200"}'), 2);
  assert.equal(sample(text, 'iris_http_received_bytes_total{route="/v2/images/:id"}'), 200);
  assert.equal(sample(text, 'iris_http_sent_bytes_total{route="/v2/images/:id"}'), 900);
});

test('transferStarted: the gauge comes back down once, however often the end is reported', async () => {
  const m = createIrisMetrics();
  const end = m.transferStarted('upload');
  assert.equal(sample(await m.render(), 'iris_http_transfers_in_flight{kind="upload"}'), 1);
  end();
  end();
  assert.equal(sample(await m.render(), 'iris_http_transfers_in_flight{kind="upload"}'), 0);
  assert.equal(sample(await m.render(), 'iris_http_transfers_in_flight{kind="download"}'), 0);
});

test('observeStore: outcome from the trace (failed → error, incomplete get → aborted); sweeps are not operations', async () => {
  const m = createIrisMetrics();
  m.observeStore({ op: 'put', store: 'local', ms: 12, bytes: 4096 });
  m.observeStore({ op: 'put', store: 'local', ms: 3, bytes: 10, failed: 'Invalid' });
  m.observeStore({ op: 'get', store: 'local', ms: 5, bytes: 4096, complete: false });
  m.observeStore({ op: 'delete', store: 'local', ms: 1 });
  m.observeStore({ op: 'sweep', store: 'local' });
  const text = await m.render();
  assert.equal(sample(text, 'iris_store_operation_duration_seconds_count{store="local",operation="put",outcome="ok"}'), 1);
  assert.equal(sample(text, 'iris_store_operation_duration_seconds_count{store="local",operation="put",outcome="error"}'), 1);
  assert.equal(sample(text, 'iris_store_operation_duration_seconds_count{store="local",operation="get",outcome="aborted"}'), 1);
  assert.equal(sample(text, 'iris_store_operation_duration_seconds_count{store="local",operation="delete",outcome="ok"}'), 1);
  assert.equal(sample(text, 'iris_store_bytes_total{store="local",operation="put"}'), 4106);
  assert.ok(!text.includes('operation="sweep"'));
});

test('scrape-time sources: task states (all four, 0 when none), notifier figures; a failing source is reported, the scrape still answers', async () => {
  let fail = false;
  const errors: string[] = [];
  const m = createIrisMetrics({
    taskStates: async () => {
      if (fail) throw new Error('database gone');
      return { processing: 2, success: 5 };
    },
    notifierStats: () => ({ sent: 7, dropped: 1, queued: 3, connected: false }),
    databaseMaxConnections: 55,
    onCollectError: (what, err) => errors.push(`${what}: ${(err as Error).message}`),
  });
  let text = await m.render();
  assert.equal(sample(text, 'iris_tasks{status="processing"}'), 2);
  assert.equal(sample(text, 'iris_tasks{status="pending"}'), 0);
  assert.equal(sample(text, 'iris_notifications_sent_total'), 7);
  assert.equal(sample(text, 'iris_notifications_dropped_total'), 1);
  assert.equal(sample(text, 'iris_notifications_queued'), 3);
  assert.equal(sample(text, 'iris_notifications_connected'), 0);
  assert.equal(sample(text, 'iris_db_connections_max'), 55);
  fail = true;
  text = await m.render();
  assert.equal(sample(text, 'iris_tasks{status="processing"}'), undefined);
  assert.deepEqual(errors, ['task states: database gone']);
});

test('database observer: statements by kind and outcome, connections in use', async () => {
  const m = createIrisMetrics();
  m.database.acquired(0.001);
  m.database.query('select', 0.002, false);
  m.database.query('update', 0.002, true);
  let text = await m.render();
  assert.equal(sample(text, 'iris_db_connections_in_use'), 1);
  assert.equal(sample(text, 'iris_db_query_duration_seconds_count{operation="select",outcome="ok"}'), 1);
  assert.equal(sample(text, 'iris_db_query_duration_seconds_count{operation="update",outcome="error"}'), 1);
  m.database.released();
  text = await m.render();
  assert.equal(sample(text, 'iris_db_connections_in_use'), 0);
});
