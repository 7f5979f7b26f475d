import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInspector, inspectBuffer } from './inspector.js';
import { HEAD_BYTES, bytes, finding, tail, totalSize } from './format-inspector.js';
import type { FormatInspector, Inspection } from './format-inspector.js';

/** An inspector that records what it was given and reports it as a finding's variant. */
function recorder(run: () => Inspection): FormatInspector {
  return { format: 'qcow2', inspect: run };
}

function feed(data: Buffer, inspector: FormatInspector, chunk: number) {
  const run = createInspector({ inspectors: [inspector] });
  for (let at = 0; at < data.length; at += chunk) run.write(data.subarray(at, at + chunk));
  return run.finish();
}

const DATA = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7 + 3) & 0xff));

test('driver: byte requests anywhere ahead are answered, whatever the chunking', () => {
  const reader = recorder(function* () {
    const a = yield* bytes(10, 20);
    const b = yield* bytes(70_000, 100_000);
    const c = yield* bytes(199_990, 100);
    return finding('qcow2', a.length + b.length + c.length, [], `${a[0]}/${b[99_999]}/${c.length}`);
  });
  for (const chunk of [1, 7, 4096, 65_536, 1_000_000]) {
    const result = feed(DATA, reader, chunk);
    assert.equal(result.virtualSize, 20 + 100_000 + 10, `chunks of ${chunk}`);
    assert.equal(result.variant, `${DATA[10]}/${DATA[169_999]}/10`, `chunks of ${chunk}`);
  }
});

test('driver: stopAt ends a request at the first such byte, across chunks', () => {
  const text = Buffer.concat([Buffer.alloc(100, 0x41), Buffer.from('hello'), Buffer.alloc(1, 0), Buffer.alloc(100_000, 0x42)]);
  const reader = recorder(function* () {
    const head = yield* bytes(100, 500_000, 0);
    const far = yield* bytes(70_000, 10_000, 0x42);
    return finding('qcow2', null, [], `${head.toString('latin1')}|${far.length}`);
  });
  for (const chunk of [1, 3, 50_000]) assert.equal(feed(text, reader, chunk).variant, 'hello|0', `chunks of ${chunk}`);
});

test('driver: size and tail arrive at the end; a short stream gives a short tail', () => {
  const reader = recorder(function* () {
    const end = yield* tail(1536);
    const size = yield* totalSize();
    return finding('qcow2', size, [], end.toString('hex'));
  });
  const small = Buffer.from('0102030405', 'hex');
  assert.equal(feed(small, reader, 2).variant, '0102030405');
  const result = feed(DATA, reader, 999);
  assert.equal(result.virtualSize, DATA.length);
  assert.equal(result.variant, DATA.subarray(DATA.length - 1536).toString('hex'));
});

test('driver: a request for bytes that streamed past the head buffer is refused, not answered', () => {
  const reader = recorder(function* () {
    yield* bytes(150_000, 10);
    yield* bytes(HEAD_BYTES + 10, 10); // already gone
    return finding('qcow2', 0, []);
  });
  const result = feed(DATA, reader, 4096);
  assert.equal(result.safe, false);
  assert.match(result.reason ?? '', /out of order/);
  // Within the head buffer, going back is fine.
  const back = recorder(function* () {
    yield* bytes(60_000, 10);
    const again = yield* bytes(5, 3);
    return finding('qcow2', again[0] ?? null, []);
  });
  assert.equal(feed(DATA, back, 4096).virtualSize, DATA[5]);
});

test('driver: a parser that throws becomes a failed check, never an exception', () => {
  const broken = recorder(function* () {
    yield* bytes(0, 10);
    throw new RangeError('oops');
  });
  const result = feed(DATA, broken, 3);
  assert.equal(result.format, 'qcow2');
  assert.equal(result.safe, false);
  assert.match(result.reason ?? '', /could not be parsed/);
});

test('driver: finish is final; empty input is raw of size 0', () => {
  const run = createInspector();
  const first = run.finish();
  run.write(Buffer.from('QFI\xfb', 'latin1'));
  assert.equal(run.finish(), first);
  assert.deepEqual(inspectBuffer(Buffer.alloc(0)), first);
  assert.equal(first.format, 'raw');
  assert.equal(first.virtualSize, 0);
});
