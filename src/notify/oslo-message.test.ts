import assert from 'node:assert/strict';
import { test } from 'node:test';
import { amqpBody, buildMessage, pythonUtcTimestamp } from './oslo-message.js';
import { notificationFilter } from './disabled-notifications.js';
import { parseTransportUrl } from './transport-url.js';
import { uploadFailureText } from './error-notifications.js';
import { StorageFull } from '../domain/errors.js';

const message = buildMessage({
  publisherId: 'image.localhost',
  eventType: 'image.create',
  priority: 'INFO',
  payload: { id: 'x', name: 'é' },
  now: new Date('2026-12-06T15:52:35.120Z'),
  messageId: 'm-1',
});

test('timestamps are Python str(datetime): microseconds, none when zero', () => {
  assert.equal(message.timestamp, '2026-12-06 15:52:35.120000');
  assert.equal(pythonUtcTimestamp(new Date('2026-12-06T15:52:35.000Z')), '2026-12-06 15:52:35');
});

test('messagingv2 wraps the message in the 2.0 envelope; messaging (1.0) sends it bare; both add _unique_id', () => {
  const v2 = JSON.parse(amqpBody(message, 2, { uniqueId: 'u1' }).toString('utf8')) as Record<string, string>;
  assert.deepEqual(Object.keys(v2), ['oslo.version', 'oslo.message']);
  assert.equal(v2['oslo.version'], '2.0');
  // Python's json.dumps: ", " and ": " separators, non-ASCII escaped, oslo's key order.
  assert.equal(
    v2['oslo.message'],
    '{"message_id": "m-1", "publisher_id": "image.localhost", "event_type": "image.create", "priority": "INFO", ' +
      '"payload": {"id": "x", "name": "\\u00e9"}, "timestamp": "2026-12-06 15:52:35.120000", "_unique_id": "u1"}',
  );
  const v1 = JSON.parse(amqpBody(message, 1, { uniqueId: 'u2', context: { request_id: 'req-1' } }).toString('utf8')) as Record<string, unknown>;
  assert.equal(v1.event_type, 'image.create');
  assert.equal(v1._unique_id, 'u2');
  assert.equal(v1._context_request_id, 'req-1');
});

test('disabled_notifications: types, groups (Glance) and image.* patterns', () => {
  const allowed = notificationFilter(['image.create', 'task', 'image.member.*']);
  assert.equal(allowed('image.create'), false);
  assert.equal(allowed('image.update'), true);
  assert.equal(allowed('task.success'), false);
  assert.equal(allowed('image.member.create'), false);
  assert.equal(allowed('image.member'), true);
  const images = notificationFilter(['image.*']);
  assert.equal(images('image.upload'), false);
  assert.equal(images('image.member.delete'), false);
  assert.equal(images('task.create'), true);
  assert.equal(notificationFilter(['image'])('image.member.update'), false);
  assert.equal(notificationFilter([])('anything'), true);
});

test('transport_url: several hosts for failover, credentials carried over, defaults', () => {
  assert.deepEqual(parseTransportUrl('rabbit://u:p%40ss@h1:5673,h2/vh'), [
    { hostname: 'h1', port: 5673, username: 'u', password: 'p@ss', vhost: 'vh' },
    { hostname: 'h2', port: 5672, username: 'u', password: 'p@ss', vhost: 'vh' },
  ]);
  assert.deepEqual(parseTransportUrl('rabbit://'), [{ hostname: 'localhost', port: 5672, username: 'guest', password: 'guest', vhost: '/' }]);
  assert.throws(() => parseTransportUrl('kafka://h:9092'), /not supported/);
  assert.throws(() => parseTransportUrl('rabbit://u:secret@h:x/'), (e: Error) => !e.message.includes('secret'));
});

test('a failed upload is described as Glance describes it', () => {
  assert.equal(uploadFailureText('i1', new StorageFull('disk full')), 'Image storage media is full: disk full');
  assert.equal(uploadFailureText('i1', new Error('boom')), 'Failed to upload image data for image i1 due to internal error: boom');
});
