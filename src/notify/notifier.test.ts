import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNotifier, type NotificationSettings } from './notifier.js';

const base: NotificationSettings = {
  drivers: [],
  transportUrl: 'rabbit://',
  topics: ['notifications'],
  retry: -1,
  disabled: [],
  publisherId: 'image.localhost',
  exchange: 'glance',
  queueSize: 10,
  requestContext: false,
};

function recordingLogger() {
  const lines: { logger: string; level: string; text: string }[] = [];
  const noop = () => undefined;
  return {
    lines,
    logger: {
      info: noop,
      warn: noop,
      error: noop,
      child: (bindings: Record<string, unknown>) => {
        const at = (level: string) => (text: string) => lines.push({ logger: String(bindings.logger), level, text });
        return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') };
      },
    },
  };
}

test('log driver: one JSON line per notification, at its priority, from oslo.messaging.notification.<type>', async () => {
  const { lines, logger } = recordingLogger();
  const notifier = createNotifier({ ...base, drivers: ['log'], disabled: ['image.member.*'] }, { logger });
  notifier.emit('image.create', { id: 'i1' });
  notifier.emit('image.upload', 'Image storage media is full: x', { priority: 'ERROR' });
  notifier.emit('image.member.create', { image_id: 'i1' });
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.logger, 'oslo.messaging.notification.image.create');
  assert.equal(lines[0]!.level, 'info');
  const first = JSON.parse(lines[0]!.text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), ['message_id', 'publisher_id', 'event_type', 'priority', 'payload', 'timestamp']);
  assert.deepEqual(first.payload, { id: 'i1' });
  assert.equal(lines[1]!.level, 'error');
  assert.equal((JSON.parse(lines[1]!.text) as Record<string, unknown>).payload, 'Image storage media is full: x');
  assert.equal(notifier.enabled?.('image.member.update'), false);
  await notifier.close();
});

test('noop and no driver: nothing is built or sent, and callers are told so', async () => {
  for (const drivers of [[], ['noop']] as const) {
    const { lines, logger } = recordingLogger();
    const notifier = createNotifier({ ...base, drivers }, { logger });
    notifier.emit('image.create', { id: 'i1' });
    assert.equal(notifier.enabled?.('image.create'), false);
    assert.equal(lines.length, 0);
    assert.deepEqual(notifier.stats(), { sent: 0, dropped: 0, queued: 0, connected: false });
    await notifier.close();
  }
});
