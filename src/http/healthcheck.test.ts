/**
 * The health check's bodies against oslo.middleware's templates as jinja2 renders them (the
 * expected strings were rendered by oslo.middleware 5.0's Healthcheck templates with the same
 * results and server facts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthcheckReply, serverFacts, type ServerFacts } from './healthcheck.js';

const OK = { available: true, reason: 'OK', details: "Path '/x' was not found" };
const DOWN = { available: false, reason: 'DOWN', details: 'd2' };
const FACTS: ServerFacts = { hostname: 'h<1>', now: '2026-01-01 00:00:00.000001', version: 'PV', platform: 'PL' };

test('plain view: reasons one a line; 200 when all are available, else 503; HEAD without a body', () => {
  assert.deepEqual(healthcheckReply('GET', undefined, [OK], null), { status: 200, contentType: 'text/plain; charset=UTF-8', body: 'OK' });
  assert.deepEqual(healthcheckReply('GET', 'text/plain', [OK, DOWN], null), { status: 503, contentType: 'text/plain; charset=UTF-8', body: 'OK\nDOWN' });
  assert.deepEqual(healthcheckReply('HEAD', undefined, [OK], FACTS), { status: 204, body: '' });
  assert.deepEqual(healthcheckReply('HEAD', undefined, [DOWN], null), { status: 503, contentType: 'text/plain; charset=UTF-8', body: '' });
  assert.equal(healthcheckReply('GET', 'application/json', [OK, DOWN], null).body, '{\n    "detailed": false,\n    "reasons": [\n        "OK",\n        "DOWN"\n    ]\n}');
});

test('HTML, plain and detailed, as the middleware’s template renders them', () => {
  assert.equal(
    healthcheckReply('GET', 'text/html', [OK, DOWN], null).body,
    '<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n\n<H2>Result of 2 checks:</H2>\n<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n\n<TH>\nReason\n</TH>\n</TR>\n<TR>\n\n    <TD>OK</TD>\n\n</TR><TR>\n\n    <TD>DOWN</TD>\n\n</TR>\n</TBODY>\n</TABLE>\n<HR></HR>\n\n</BODY>\n</HTML>',
  );
  // Rendered with no thread stacks and gc counts/thresholds of () (Node has neither).
  assert.equal(
    healthcheckReply('GET', 'text/html', [OK, DOWN], FACTS).body,
    '<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n<H1>Server status</H1>\n<B>Server hostname:</B><PRE>h&lt;1&gt;</PRE>\n<B>Current time:</B><PRE>2026-01-01 00:00:00.000001</PRE>\n<B>Python version:</B><PRE>PV</PRE>\n<B>Platform:</B><PRE>PL</PRE>\n<HR></HR>\n<H2>Garbage collector:</H2>\n<B>Counts:</B><PRE>()</PRE>\n<B>Thresholds:</B><PRE>()</PRE>\n<HR></HR>\n<H2>Result of 2 checks:</H2>\n<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n<TH>\nKind\n</TH>\n<TH>\nReason\n</TH>\n<TH>\nDetails\n</TH>\n\n</TR>\n<TR>\n<TD>HealthcheckResult</TD>\n    <TD>OK</TD>\n<TD>Path &#39;/x&#39; was not found</TD>\n</TR><TR>\n<TD>HealthcheckResult</TD>\n    <TD>DOWN</TD>\n<TD>d2</TD>\n</TR>\n</TBODY>\n</TABLE>\n<HR></HR>\n\n\n</BODY>\n</HTML>',
  );
});

test('detailed JSON: the middleware’s keys, sorted, indented by 4, non-ASCII escaped', () => {
  const r = healthcheckReply('GET', 'application/json', [OK, { available: false, reason: 'DOWN', details: 'é' }], FACTS);
  assert.equal(r.status, 503);
  assert.equal(r.contentType, 'application/json');
  assert.equal(
    r.body,
    '{\n    "detailed": true,\n    "gc": {\n        "counts": [],\n        "threshold": []\n    },\n    "greenthreads": [],\n    "now": "2026-01-01 00:00:00.000001",\n' +
      '    "platform": "PL",\n    "python_version": "PV",\n    "reasons": [\n        {\n            "class": "HealthcheckResult",\n' +
      '            "details": "Path \'/x\' was not found",\n            "reason": "OK"\n        },\n        {\n            "class": "HealthcheckResult",\n' +
      '            "details": "\\u00e9",\n            "reason": "DOWN"\n        }\n    ],\n    "threads": []\n}',
  );
});

test('server facts: Python’s str(datetime) for now (no fraction at a whole second)', () => {
  assert.equal(serverFacts(new Date(Date.UTC(2026, 11, 6, 16, 1, 2, 345))).now, '2026-12-06 16:01:02.345000');
  assert.equal(serverFacts(new Date(Date.UTC(2026, 11, 6, 16, 1, 2, 0))).now, '2026-12-06 16:01:02');
  assert.match(serverFacts().version, /^Node\.js v\d+/);
});
