import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris } from '../helpers/iris-server.js';
import { strftime, textLine } from '../../src/logging.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'iris-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits (polling) until `path` holds a line matching `pattern`; the test runner's timeout bounds it. */
/** The first line of `path` matching `pattern`, waited for (bounded: a line that never comes fails the test). */
async function lineIn(path: string, pattern: RegExp, ms = 30_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const line = text.split('\n').find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no line matching ${pattern} in ${path} within ${ms} ms:\n${text.slice(-2000)}`);
    await sleep(50);
  }
}

const TEXT_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ (DEBUG|INFO|WARNING|ERROR) /;

test('log_file: plain text lines; after a rename, SIGHUP makes new lines go to a new file of that name', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'iris-api.log');
  const iris = await startIris({ env: { IRIS__DEFAULT__LOG_DIR: dir }, logFile: log });
  t.after(() => iris.stop());
  const listening = await lineIn(log, /Iris listening/);
  assert.match(listening, TEXT_LINE);
  assert.match(listening, new RegExp(`INFO Iris listening on 127\\.0\\.0\\.1:${iris.port} `));
  assert.equal(iris.logs(), '', 'with a log file, nothing goes to stdout');

  renameSync(log, `${log}.1`);
  process.kill(iris.child.pid!, 'SIGHUP');
  assert.match(await lineIn(log, /SIGHUP: log file reopened/), TEXT_LINE);
  const res = await fetch(`${iris.baseUrl}/v2/images`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const exit = await iris.kill('SIGTERM');
  assert.equal(exit.code, 0);
  const rotated = readFileSync(`${log}.1`, 'utf8');
  const current = readFileSync(log, 'utf8');
  assert.match(rotated, /Iris listening/);
  assert.doesNotMatch(rotated, /SIGHUP|shutting down/);
  assert.match(current, /shutting down/);
  assert.doesNotMatch(current, /Iris listening/);
});

test('[iris] log_format = json writes pino JSON lines to the file; debug = true adds debug entries', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'api.log');
  const iris = await startIris({
    env: { IRIS__DEFAULT__LOG_FILE: log, IRIS__IRIS__LOG_FORMAT: 'json', IRIS__DEFAULT__DEBUG: 'true' },
    logFile: log,
  });
  t.after(() => iris.stop());
  const line = JSON.parse(await lineIn(log, /Iris listening/)) as Record<string, unknown>;
  assert.equal(line.level, 30);
  assert.equal(line.port, iris.port);
  assert.equal(line.pid, iris.child.pid);
  const created = (await (await fetch(`${iris.baseUrl}/v2/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }) })).json()) as { id: string };
  const globalId = 'req-6f1a3c2e-0b4d-4e5f-8a9b-0c1d2e3f4a5b';
  const put = await fetch(`${iris.baseUrl}/v2/images/${created.id}/file`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'x-openstack-request-id': globalId },
    body: 'data',
  });
  assert.equal(put.status, 204);
  const requestId = put.headers.get('x-openstack-request-id');
  assert.match(requestId ?? '', /^req-[0-9a-f-]{36}$/);
  // The blob store's trace lines are debug entries, written through the process's logger
  // (the store knows no request), yet they carry the ids of the request they served.
  const raw = await lineIn(log, /"level":20/);
  const debug = JSON.parse(raw) as Record<string, unknown>;
  assert.equal(debug.msg, 'blob written');
  assert.equal(debug.image, created.id);
  assert.equal(debug.req_id, requestId);
  assert.equal(debug.global_request_id, globalId);
  // The access line (the request's own logger) names them once, not once more from the context.
  const access = await lineIn(log, new RegExp(`"req_id":"${requestId}".*"status":204|"status":204.*"req_id":"${requestId}"`));
  assert.equal(access.split('"req_id"').length - 1, 1, access);
  assert.equal(access.split('"global_request_id"').length - 1, 1, access);
  // A line logged outside any request has none.
  assert.equal((JSON.parse(await lineIn(log, /Iris listening/)) as Record<string, unknown>).req_id, undefined);
});

test('stdout that is not a terminal gets JSON by default, text with log_format = text; use_stderr moves it to stderr', async (t) => {
  const plain = await startIris({ env: { IRIS__IRIS__LOG_FORMAT: 'text', IRIS__DEFAULT__USE_STDERR: 'true' } });
  t.after(() => plain.stop());
  let out = '';
  let err = '';
  plain.child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  plain.child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  await plain.kill('SIGTERM');
  const all = plain.logs();
  assert.match(all, /INFO Iris listening on/);
  assert.match(all, /INFO shutting down signal=SIGTERM/);
  assert.equal(out, '', 'use_stderr: nothing on stdout');
  assert.match(err, /shutting down/);

  const viaPipe = await startIris({});
  t.after(() => viaPipe.stop());
  const first = viaPipe.logs().split('\n').find((l) => l.includes('Iris listening'));
  assert.ok(first !== undefined);
  assert.equal((JSON.parse(first) as { msg: string }).msg, `Iris listening on 127.0.0.1:${viaPipe.port}`);
});

/** A Unix datagram socket (Node has none) that appends what it receives to `out`, one datagram a line. */
async function syslogServer(t: { after: (fn: () => void) => void }, socket: string, out: string): Promise<void> {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("ready", flush=True)',
    'while True:',
    '    data = s.recv(65536)',
    '    with open(sys.argv[2], "ab") as f: f.write(data.rstrip(b"\\n") + b"\\n")',
  ].join('\n');
  const child = spawn('python3', ['-c', script, socket, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve());
  });
}

test('use_syslog sends RFC 3164 lines with the facility to the syslog socket, besides stdout', async (t) => {
  const dir = tempDir(t);
  const socket = join(dir, 'log.sock');
  const received = join(dir, 'received');
  await syslogServer(t, socket, received);
  const iris = await startIris({
    env: { IRIS__DEFAULT__USE_SYSLOG: 'true', IRIS__DEFAULT__SYSLOG_LOG_FACILITY: 'LOG_LOCAL0', IRIS__IRIS__SYSLOG_SOCKET: socket },
  });
  t.after(() => iris.stop());
  const line = await lineIn(received, /Iris listening/);
  // <PRI> = local0 (16) * 8 + info (6); then the RFC 3164 header, tag iris-api[pid].
  assert.match(line, new RegExp(`^<134>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ iris-api\\[${iris.child.pid}\\]: INFO Iris listening on 127\\.0\\.0\\.1:${iris.port}`));
  assert.match(iris.logs(), /Iris listening/, 'stdout keeps the log too, as with oslo.log');
});

test('use_syslog without the socket: one line on stderr, and the log goes on to stdout', async (t) => {
  const dir = tempDir(t);
  const iris = await startIris({ env: { IRIS__DEFAULT__USE_SYSLOG: 'true', IRIS__IRIS__SYSLOG_SOCKET: join(dir, 'absent') } });
  t.after(() => iris.stop());
  const notices = iris.logs().split('\n').filter((l) => l.startsWith('iris: use_syslog'));
  assert.deepEqual(notices, [`iris: use_syslog: ${join(dir, 'absent')} does not exist; logging without syslog`]);
  assert.match(iris.logs(), /Iris listening/);
});

test('text lines: fields, error stack, strftime', () => {
  const json = JSON.stringify({ level: 50, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 7, req_id: 'req-1', image_id: 'x', n: 2, err: { message: 'boom', stack: 'Error: boom\n    at f' }, msg: 'failed' });
  const line = textLine(json, '%Y', true);
  assert.match(line, /^2026\.006 7 ERROR \[req-1\] failed image_id=x n=2\nError: boom\n {4}at f$/);
  assert.equal(textLine(json, '', false), 'ERROR [req-1] failed image_id=x n=2: boom');
  const d = new Date(2026, 1, 3, 14, 5, 6);
  assert.equal(strftime(d, '%Y-%m-%d %H:%M:%S %y %b %a %I%p %j %%'), '2026-02-03 14:05:06 26 Feb Tue 02PM 034 %');
});
