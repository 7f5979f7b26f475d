import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { amqpBody, amqpBodyFromJson, buildMessage, pythonUtcTimestamp } from './oslo-message.js';
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

/**
 * What oslo.messaging's json.dumps makes of `dict`: the 2.0 envelope and the 1.0 body, from
 * /usr/bin/python3. Undefined when Python cannot run (the test is then skipped, or fails in CI).
 */
function pythonBodies(dict: Record<string, unknown>, t: TestContext): [string, string] | undefined {
  const script = 'import json,sys; d=json.loads(sys.stdin.read()); i=json.dumps(d); sys.stdout.write(json.dumps({"oslo.version": "2.0", "oslo.message": i}) + "\\n" + i)';
  const run = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(dict), encoding: 'utf8' });
  if (run.error !== undefined || run.status !== 0) {
    const reason = `cannot compare with Python: ${run.error?.message ?? run.stderr}`;
    if (process.env.CI === 'true') assert.fail(reason);
    console.log(`SKIP: ${reason}`);
    t.skip(reason);
    return undefined;
  }
  const [v2, v1] = run.stdout.split('\n');
  return [v2!, v1!];
}

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

test('the AMQP bodies are, byte for byte, what json.dumps writes for oslo\'s dict (checked against /usr/bin/python3)', (t) => {
  const tricky = buildMessage({
    publisherId: 'image.localhost',
    eventType: 'image.update',
    priority: 'INFO',
    payload: { id: 'i-1', name: 'é "q" \\ \u0001 \u007f 😀', size: 12.5, min_disk: 0, tags: ['a', 'ü'], properties: { k: null, skipped: undefined }, protected: false },
    now: new Date('2026-12-06T15:52:35.000Z'),
    messageId: 'm-2',
  });
  const context = { request_id: 'req-1', global_request_id: null, user_id: undefined, project_id: 'p' };
  // What the rabbit driver's dict holds: the message, _unique_id, then the context keys (undefined ones absent).
  const dict = { ...JSON.parse(JSON.stringify(tricky)), _unique_id: 'u3', _context_request_id: 'req-1', _context_global_request_id: null, _context_project_id: 'p' };
  const python = pythonBodies(dict, t);
  if (!python) return;
  const [v2, v1] = python;
  assert.equal(amqpBody(tricky, 2, { uniqueId: 'u3', context }).toString('utf8'), v2);
  assert.equal(amqpBody(tricky, 1, { uniqueId: 'u3', context }).toString('utf8'), v1);
  // Without a given id, a fresh uuid4().hex each time.
  const ids = [1, 2].map(() => (JSON.parse(amqpBody(tricky, 1).toString('utf8')) as { _unique_id: string })._unique_id);
  assert.match(ids[0]!, /^[0-9a-f]{12}4[0-9a-f]{19}$/);
  assert.notEqual(ids[0], ids[1]);
});

test('the bodies written from the handed-over JSON text are amqpBody\'s, byte for byte (and json.dumps\'s, checked against /usr/bin/python3)', (t) => {
  const make = (payload: Record<string, unknown>, ms: number) =>
    buildMessage({ publisherId: 'image.localhost', eventType: 'image.update', priority: 'INFO', payload, now: new Date(Date.UTC(2026, 11, 6, 15, 52, 35, ms)), messageId: 'm-3' });
  const plain = make(
    {
      id: 'i-1',
      // Separators, quotes and escapes inside strings, DEL, beyond ASCII, a surrogate pair and a lone one.
      name: 'a, b: "c" \\ \\" \n\t \u0001 \u007f é 😀 \ud800 {[,]}: x,',
      size: 123456789012345,
      min_disk: -3,
      tags: ['a', 'ü', ''],
      properties: { k: null, skipped: undefined, '10': 'x', nested: { list: [[], {}, [1, [2]]] } },
      protected: false,
    },
    120,
  );
  // Numbers Python prints otherwise (a float, an integer beyond 2^53) take amqpBody's path.
  const floats = [make({ id: 'i-2', size: 12.5 }, 0), make({ id: 'i-3', size: 2 ** 60, n: 1e-7 }, 5)];
  const context = { request_id: 'req-"1"', global_request_id: null, user_id: undefined, project_id: 'p\u00e9' };
  for (const message of [plain, ...floats]) {
    for (const version of [1, 2] as const) {
      for (const ctx of [undefined, context]) {
        const expected = amqpBody(message, version, { uniqueId: 'u4', context: ctx }).toString('latin1');
        assert.equal(amqpBodyFromJson(JSON.stringify(message), version, { uniqueId: 'u4', context: ctx }).toString('latin1'), expected);
      }
    }
  }
  const dict = { ...JSON.parse(JSON.stringify(plain)), _unique_id: 'u4' };
  const python = pythonBodies(dict, t);
  if (!python) return;
  const [v2, v1] = python;
  assert.equal(amqpBodyFromJson(JSON.stringify(plain), 2, { uniqueId: 'u4' }).toString('utf8'), v2);
  assert.equal(amqpBodyFromJson(JSON.stringify(plain), 1, { uniqueId: 'u4' }).toString('utf8'), v1);
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
