import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareExchanges, IdPairing } from './compare.js';
import type { Body, Exchange } from './exchange.js';

function exchange(status: number, headers: Record<string, string>, body: Body, request = 'GET /x'): Exchange {
  return { case: 'c', request, status, headers: new Map(Object.entries(headers)), body };
}

test('IdPairing: ids pair one to one, whatever their numbers', () => {
  const ids = new IdPairing();
  assert.ok(ids.same('/v2/images/<ID-3>', '/v2/images/<ID-4>'));
  assert.ok(ids.same('<ID-3>', '<ID-4>'));
  assert.ok(!ids.same('<ID-3>', '<ID-5>'), 'peer <ID-3> is already Iris <ID-4>');
  assert.ok(!ids.same('<ID-6>', '<ID-4>'), 'Iris <ID-4> is already peer <ID-3>');
  assert.ok(!ids.same('/a/<ID-7>', '/b/<ID-8>'));
  assert.ok(ids.same('<ID-7>', '<ID-9>'), 'a failed comparison binds nothing');
});

test('the same answer in other header case and other message text is no difference', () => {
  const peer = exchange(404, { 'content-type': 'text/plain; charset=UTF-8', 'x-openstack-request-id': 'req-<REQ>', date: 'a' }, {
    kind: 'text',
    text: "404 Not Found\n\nNo image found with ID u'x'\n\n   ",
  });
  const iris = exchange(404, { 'content-type': 'text/plain; charset=UTF-8', 'x-openstack-request-id': 'req-<REQ>', connection: 'keep-alive' }, {
    kind: 'text',
    text: '404 Not Found\n\nNo image found with ID x\n\n   ',
  });
  assert.deepEqual(compareExchanges(peer, iris, new IdPairing()), []);
});

test('status, compared headers, request-id presence and fault heading are reported', () => {
  const peer = exchange(403, { 'content-type': 'text/plain', allow: 'GET, PUT' }, { kind: 'text', text: '403 Forbidden\n\nno' });
  const iris = exchange(400, { 'content-type': 'text/plain', allow: 'PUT, GET', 'x-openstack-request-id': 'r' }, {
    kind: 'text',
    text: '400 Bad Request\n\nno',
  });
  const fields = compareExchanges(peer, iris, new IdPairing()).map((d) => d.field);
  assert.deepEqual(fields, ['status', 'header allow', 'header x-openstack-request-id', 'body heading']);
});

test('JSON: key sets, types and values; a fault message is prose', () => {
  const peer = exchange(200, {}, { kind: 'json', value: { a: 1, b: 'x', only: true, list: [1, 2] } });
  const iris = exchange(200, {}, { kind: 'json', value: { a: '1', b: 'y', extra: null, list: [1] } });
  const diffs = compareExchanges(peer, iris, new IdPairing());
  assert.deepEqual(
    diffs.map((d) => d.field),
    ['body keys', 'body.a type', 'body.b', 'body.list length'],
  );
  const fault = (message: string): Exchange =>
    exchange(404, {}, { kind: 'json', value: { message, code: '404 Not Found', title: 'Not Found' } });
  assert.deepEqual(compareExchanges(fault('a'), fault('b'), new IdPairing()), []);
});

test('binary bodies by size and md5, with their Content-Length', () => {
  const peer = exchange(200, { 'content-length': '3' }, { kind: 'binary', size: 3, md5: 'a'.repeat(32) });
  const iris = exchange(200, { 'content-length': '4' }, { kind: 'binary', size: 4, md5: 'b'.repeat(32) });
  assert.deepEqual(
    compareExchanges(peer, iris, new IdPairing()).map((d) => d.field),
    ['header content-length', 'body'],
  );
});
