/**
 * A broker that goes away never holds up the API: with RabbitMQ killed, Iris keeps answering;
 * what was queued meanwhile arrives once the broker is back, up to the queue bound; the rest is
 * counted as dropped (stats()) and logged with its event type and image id. One broker, killed
 * and restarted once, serves an in-process notifier (exact counters) and a real Iris server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { createNotifier, type IrisNotifier } from '../../src/notify/notifier.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { startRabbitOrSkip } from '../helpers/rabbitmq-server.js';

const P1 = { 'X-Project-Id': 'p1', 'X-Roles': 'member,reader', 'Content-Type': 'application/json' };

/** Polls `probe` until it returns true (bounded: a broker start on a busy machine is slow). */
async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every message waiting in `queue` (the default queue the transport declares per routing key). */
async function drain(url: string, queue: string): Promise<Record<string, unknown>[]> {
  const conn = await amqp.connect(url);
  // A queue not declared yet (the broker just came back) closes the channel: nothing to read yet.
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    const out: Record<string, unknown>[] = [];
    // Not declared yet: the broker refuses the get (404) and closes the channel.
    if ((await ch.checkQueue(queue).then(() => true, () => false)) === false) return out;
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) return out;
      const envelope = JSON.parse(m.content.toString('utf8')) as { 'oslo.message': string };
      out.push(JSON.parse(envelope['oslo.message']) as Record<string, unknown>);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

function quietLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  const log = { info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger: { ...log, child: () => ({ debug() {}, info() {}, warn() {}, error() {}, fatal() {} }) } };
}

test('broker killed mid-run: requests unaffected, queued messages delivered after it returns, the rest counted', async (t) => {
  const rabbit = await startRabbitOrSkip(t);
  if (rabbit === undefined) return;
  let iris: IrisProcess | undefined;
  let notifier: IrisNotifier | undefined;
  // One hook, so the broker goes last.
  t.after(async () => {
    await notifier?.close(100);
    await iris?.stop();
    await rabbit.stop();
  });
  const transportUrl = rabbit.url.replace(/^amqp:/, 'rabbit:');

  const { lines, logger } = quietLogger();
  notifier = createNotifier(
    {
      drivers: ['messagingv2'],
      transportUrl,
      topics: ['unit'],
      retry: -1,
      disabled: [],
      publisherId: 'image.localhost',
      exchange: 'glance',
      queueSize: 5,
      requestContext: true,
    },
    { logger, transportTimings: { initialBackoffMs: 50, maxBackoffMs: 500 } },
  );

  iris = await startIris({
    env: {
      IRIS__OSLO_MESSAGING_NOTIFICATIONS__DRIVER: 'messagingv2',
      IRIS__OSLO_MESSAGING_NOTIFICATIONS__TRANSPORT_URL: transportUrl,
      IRIS__OSLO_MESSAGING_NOTIFICATIONS__TOPICS: 'api',
      IRIS__IRIS__NOTIFICATION_QUEUE_SIZE: '3',
    },
  });
  const create = async (name: string): Promise<string> => {
    const res = await fetch(`${iris.baseUrl}/v2/images`, { method: 'POST', headers: P1, body: JSON.stringify({ name }) });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: string }).id;
  };

  // Up: everything is confirmed.
  const context = { requestId: 'req-1', userId: 'u1', projectId: 'p1' };
  for (let i = 0; i < 3; i += 1) notifier.emit('image.update', { id: `before-${i}` }, { context });
  await until('3 confirmed', () => notifier.stats().sent === 3);
  // notification_request_context: the request's ids ride along as oslo context keys.
  const before = await drain(rabbit.url, 'unit.info');
  assert.equal(before.length, 3);
  assert.equal(before[0]!._context_request_id, 'req-1');
  assert.equal(before[0]!._context_project_id, 'p1');
  await create('before');
  await until('the API notification', async () => (await drain(rabbit.url, 'api.info')).length === 1);

  await rabbit.kill();
  await until('the outage noticed', () => !notifier.stats().connected);

  // Down: emits return at once and queue up to the bound; the API answers as usual.
  for (let i = 0; i < 8; i += 1) notifier.emit('image.update', { id: `during-${i}` });
  assert.deepEqual(notifier.stats(), { sent: 3, dropped: 3, queued: 5, connected: false });
  const dropWarning = lines.find((l) => l.msg === 'notification dropped');
  assert.equal(dropWarning?.obj.event_type, 'image.update');
  assert.equal(dropWarning?.obj.image, 'during-5');
  const ids: string[] = [];
  for (let i = 0; i < 4; i += 1) ids.push(await create(`during-${i}`));
  const listed = await fetch(`${iris.baseUrl}/v2/images`, { headers: P1 });
  assert.equal(listed.status, 200);
  await until('the API drop logged', () => /notification dropped/.test(iris.logs()) && iris.logs().includes(ids[3]!));

  // Back: the queued ones arrive, oldest first; the dropped ones never do.
  await rabbit.start();
  await until('the queue flushed', () => notifier.stats().sent === 8 && notifier.stats().queued === 0);
  assert.deepEqual(notifier.stats(), { sent: 8, dropped: 3, queued: 0, connected: true });
  const delivered = await drain(rabbit.url, 'unit.info');
  assert.deepEqual(
    delivered.map((m) => (m.payload as { id: string }).id),
    ['during-0', 'during-1', 'during-2', 'during-3', 'during-4'],
  );
  let api: Record<string, unknown>[] = [];
  await until('the API notifications', async () => {
    api = [...api, ...(await drain(rabbit.url, 'api.info').catch(() => []))];
    return api.length >= 3;
  });
  assert.deepEqual(
    api.map((m) => [m.event_type, (m.payload as { id: string }).id]),
    ids.slice(0, 3).map((id) => ['image.create', id]),
  );
});
