/**
 * The main thread's side of notification publishing, over a thread whose transport needs no
 * broker (test/helpers/fake-amqp-thread.ts; the real broker path is covered by
 * test/notify/broker-outage.test.ts and glance-notifications.test.ts): counters read from shared
 * memory, the queue bound applied before the handover, the thread's log records, close, and a
 * thread that dies.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { buildMessage } from './oslo-message.js';
import { createThreadedTransport, type ThreadedTransportForTests } from './threaded-transport.js';

const FAKE_THREAD = new URL('../../test/helpers/fake-amqp-thread.ts', import.meta.url);

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

function open(queueSize: number, maxRestarts?: number) {
  const { lines, logger } = recordingLogger();
  const transport = createThreadedTransport({
    endpoints: [{ hostname: '127.0.0.1', port: 1, username: 'guest', password: 'guest', vhost: '/' }],
    exchange: 'glance',
    queueSize,
    retry: -1,
    routes: [{ version: 2, topic: 'notifications' }],
    logger,
    maxRestarts,
    threadEntry: FAKE_THREAD,
  });
  return { lines, transport };
}

function send(transport: ThreadedTransportForTests, eventType: string, id: string): void {
  transport.publish(buildMessage({ publisherId: 'image.localhost', eventType, priority: 'INFO', payload: { id }, now: new Date() }), undefined);
}

/** Polls `probe` until it holds (bounded generously: threads start slowly on a busy machine). */
async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('counters come from the thread through shared memory; the bound applies on the caller turn; thread logs reach the logger', async (t) => {
  const { lines, transport } = open(3);
  t.after(() => transport.close(100));
  await until('connected', () => transport.stats().connected);
  assert.deepEqual(lines[0], { level: 'info', obj: { broker: 'fake:5672' }, msg: 'notification broker connected' });

  for (let i = 0; i < 3; i += 1) send(transport, 'image.update', `sent-${i}`);
  await until('3 confirmed', () => transport.stats().sent === 3);
  assert.deepEqual(transport.stats(), { sent: 3, dropped: 0, queued: 0, connected: true });

  for (let i = 0; i < 4; i += 1) send(transport, 'test.hold', `held-${i}`);
  // Decided at once, before the thread saw anything: 3 fit, the 4th is dropped and logged.
  assert.deepEqual(transport.stats(), { sent: 3, dropped: 1, queued: 3, connected: true });
  const drop = lines.find((l) => l.msg === 'notification dropped');
  assert.equal(drop?.obj.image, 'held-3');
  assert.equal(drop?.obj.event_type, 'test.hold');
  assert.equal(drop?.obj.reason, 'outbound queue full');
});

test('close flushes what the thread holds, then ends it; later messages are dropped', async () => {
  const { transport } = open(10);
  await until('connected', () => transport.stats().connected);
  for (let i = 0; i < 2; i += 1) send(transport, 'test.hold', `held-${i}`);
  await until('the thread holds 2', () => transport.stats().queued === 2);
  await transport.close(1000);
  assert.equal(transport.worker(), undefined);
  assert.deepEqual(transport.stats(), { sent: 2, dropped: 0, queued: 0, connected: false });
  send(transport, 'image.update', 'late');
  assert.deepEqual(transport.stats(), { sent: 2, dropped: 1, queued: 0, connected: false });
});

test('a thread that dies is logged, what it held counts as dropped, a new thread takes over (bounded)', async (t) => {
  const { lines, transport } = open(10, 1);
  t.after(() => transport.close(100));
  await until('connected', () => transport.stats().connected);
  const first = transport.worker();
  send(transport, 'image.update', 'before');
  send(transport, 'test.hold', 'held');
  send(transport, 'test.crash', 'crash');
  await until('a new thread', () => transport.worker() !== undefined && transport.worker() !== first);
  assert.ok(lines.some((l) => l.level === 'error' && l.msg === 'notification thread failed' && /crash asked for/.test(String(l.obj.err))));
  const ended = lines.find((l) => l.msg.startsWith('notification thread ended unexpectedly; '));
  assert.equal(ended?.obj.dropped, 2);
  const { sent, dropped, queued } = transport.stats();
  assert.deepEqual({ sent, dropped, queued }, { sent: 1, dropped: 2, queued: 0 });

  await until('connected again', () => transport.stats().connected);
  send(transport, 'image.update', 'after');
  await until('sent by the new thread', () => transport.stats().sent === 2);

  // The second death is one too many: messages are dropped from then on, and counted.
  send(transport, 'test.crash', 'crash-2');
  await until('no thread', () => transport.worker() === undefined);
  assert.ok(lines.some((l) => l.msg.endsWith('too often; notifications are dropped from now on')));
  send(transport, 'image.update', 'lost');
  assert.deepEqual(transport.stats(), { sent: 2, dropped: 4, queued: 0, connected: false });
});

test('the thread does not keep the process alive: a process that never closes the notifier still exits', async () => {
  const script = `
    import { createThreadedTransport } from ${JSON.stringify(new URL('./threaded-transport.ts', import.meta.url).href)};
    const log = { info() {}, warn() {}, error() {} };
    const t = createThreadedTransport({ endpoints: [], exchange: 'glance', queueSize: 5, retry: -1, routes: [{ version: 2, topic: 'n' }],
      logger: log, threadEntry: new URL(${JSON.stringify(FAKE_THREAD.href)}) });
    while (t.stats().sent === 0) {
      t.publish({ message_id: 'm', publisher_id: 'p', event_type: 'image.create', priority: 'INFO', payload: { id: 'i' }, timestamp: 't' }, undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log('sent');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // A child still running after a generous bound is the failure looked for (a start takes ~1 s).
  const stuck = setTimeout(() => child.kill(), 60_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(stuck);
  assert.equal(out.trim(), 'sent');
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'the process was kept alive');
});
