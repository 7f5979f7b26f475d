/**
 * Iris's notifications against the real Glance 25.1.0's, field by field: the same calls
 * (test/helpers/notification-scenarios.ts) as scripts/record-peer-notifications.ts drove
 * against the peer, captured from a throwaway RabbitMQ, normalised the same way and compared
 * with the committed recording (test/fixtures/notifications/glance-25.1.0.json). Exchange,
 * routing key, message properties, envelope and message (payload included) must all match.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { freePort, REPO_ROOT, startIris, type IrisProcess } from '../helpers/iris-server.js';
import { captureNotifications, normalise, osloMessage, type Capture } from '../helpers/notification-capture.js';
import { SCENARIOS } from '../helpers/notification-scenarios.js';
import { startRabbitOrSkip } from '../helpers/rabbitmq-server.js';

const recorded = JSON.parse(readFileSync(`${REPO_ROOT}test/fixtures/notifications/glance-25.1.0.json`, 'utf8')) as Record<string, unknown[]>;

test('notifications as Glance 25.1.0 sends them', async (t) => {
  const rabbit = await startRabbitOrSkip(t);
  if (rabbit === undefined) return;
  let capture: Capture | undefined;
  let iris: IrisProcess | undefined;
  // One hook, so the broker goes last.
  t.after(async () => {
    await iris?.stop();
    await capture?.close();
    await rabbit.stop();
  });
  capture = await captureNotifications(rabbit.url);
  const deadUrl = `http://127.0.0.1:${await freePort()}/nothing.img`;
  iris = await startIris({
    env: {
      IRIS__OSLO_MESSAGING_NOTIFICATIONS__DRIVER: 'messagingv2',
      IRIS__OSLO_MESSAGING_NOTIFICATIONS__TRANSPORT_URL: rabbit.url.replace(/^amqp:/, 'rabbit:'),
      // The failed import fetches from a closed loopback port, as the recording did.
      IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '',
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
    },
  });
  const base = iris.baseUrl;
  const captured = capture;

  for (const [name, run] of Object.entries(SCENARIOS)) {
    await t.test(name, async () => {
      const expected = recorded[name];
      assert.ok(expected, `no recording for ${name}`);
      captured.clear();
      await run(base, { deadUrl });
      const actual = normalise(await captured.waitFor(expected.length));
      for (let i = 0; i < expected.length; i += 1) {
        assert.deepEqual(actual[i], expected[i], `${name}: message ${i + 1} of ${expected.length}`);
      }
      assert.equal(actual.length, expected.length, `${name}: more messages than Glance sends`);
    });
  }

  // Not in the recording (the peer takes any bytes as any format): a refused upload sends
  // Glance's error notification, priority ERROR on <topic>.error with a sentence as payload.
  await t.test('failed upload: image.upload at ERROR, then the image back to queued', async () => {
    captured.clear();
    const headers = { 'X-Project-Id': 'p1', 'X-Roles': 'member,reader' };
    const res = await fetch(`${base}/v2/images`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'bad', disk_format: 'qcow2', container_format: 'bare' }),
    });
    const { id } = (await res.json()) as { id: string };
    const put = await fetch(`${base}/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { ...headers, 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(4096),
    });
    assert.equal(put.status, 400);
    const got = await captured.waitFor(5);
    assert.deepEqual(
      got.map((m) => [m.routingKey, osloMessage(m).event_type, osloMessage(m).priority]),
      [
        ['notifications.info', 'image.create', 'INFO'],
        ['notifications.info', 'image.update', 'INFO'],
        ['notifications.info', 'image.prepare', 'INFO'],
        ['notifications.error', 'image.upload', 'ERROR'],
        ['notifications.info', 'image.update', 'INFO'],
      ],
    );
    assert.match(String(osloMessage(got[3]!).payload), new RegExp(`^Cannot save data for image ${id}: `));
    assert.equal((osloMessage(got[4]!).payload as { status: string }).status, 'queued');
  });
});
