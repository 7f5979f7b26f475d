import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTranscript } from './transcript-record.js';

const FENCE = '```';
const RECORD = [
  '## Section',
  '',
  '### 1. GET /v2/images/<ID-1>',
  '',
  'A note.',
  '',
  'Request:',
  `${FENCE}http`,
  'GET /v2/images/<ID-1>',
  'Accept: application/json',
  FENCE,
  '',
  'Response:',
  `${FENCE}http`,
  'HTTP/1.1 200 OK',
  'Content-Type: application/json',
  'X-Openstack-Request-Id: req-<REQ>',
  '',
  '{"id": "<ID-1>", "tags": ["a"]}',
  FENCE,
  '',
  '(silent setup text)',
  '',
  '### 2. PUT /v2/images/<ID-1>/file',
  '',
  'Request:',
  `${FENCE}http`,
  'PUT /v2/images/<ID-1>/file',
  '',
  '<5 bytes, md5 0123456789abcdef0123456789abcdef>',
  FENCE,
  '',
  'Response:',
  `${FENCE}http`,
  'HTTP/1.1 415 Unsupported Media Type',
  'Content-Type: text/plain; charset=UTF-8',
  '',
  '415 Unsupported Media Type',
  '',
  'x',
  FENCE,
  '',
  'Exact body (JSON-escaped): `"415 Unsupported Media Type\\n\\nx\\n\\n   "`',
  '',
  '### 3. GET /v2/images/<ID-1>/file',
  '',
  'Request:',
  `${FENCE}http`,
  'GET /v2/images/<ID-1>/file',
  FENCE,
  '',
  'Response:',
  `${FENCE}http`,
  'HTTP/1.1 200 OK',
  'Content-Type: application/octet-stream',
  '',
  '<5 bytes, md5 0123456789abcdef0123456789abcdef>',
  FENCE,
  '',
  '### 4. DELETE /v2/images/<ID-1>',
  '',
  'Request:',
  `${FENCE}http`,
  'DELETE /v2/images/<ID-1>',
  FENCE,
  '',
  'Response:',
  `${FENCE}http`,
  'HTTP/1.1 204 No Content',
  'Content-Length: 0',
  FENCE,
].join('\n');

test('reads every call: case id, request head, status, lower-case headers, body kind', () => {
  const calls = parseTranscript(RECORD);
  assert.deepEqual(
    calls.map((c) => [c.case, c.status, c.body.kind]),
    [
      ['T1 GET /v2/images/<ID-1>', 200, 'json'],
      ['T2 PUT /v2/images/<ID-1>/file', 415, 'text'],
      ['T3 GET /v2/images/<ID-1>/file', 200, 'binary'],
      ['T4 DELETE /v2/images/<ID-1>', 204, 'none'],
    ],
  );
  assert.equal(calls[0]!.request, 'GET /v2/images/<ID-1>\n  Accept: application/json');
  assert.equal(calls[0]!.headers.get('x-openstack-request-id'), 'req-<REQ>');
  assert.deepEqual(calls[0]!.body, { kind: 'json', value: { id: '<ID-1>', tags: ['a'] } });
  assert.deepEqual(calls[1]!.body, { kind: 'text', text: '415 Unsupported Media Type\n\nx\n\n   ' }, 'the exact body wins');
  assert.deepEqual(calls[2]!.body, { kind: 'binary', size: 5, md5: '0123456789abcdef0123456789abcdef' });
});
