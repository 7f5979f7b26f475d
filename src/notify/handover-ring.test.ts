import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRingBuffers, ringReader, ringWriter } from './handover-ring.js';

test('records come out in order across wrap-arounds; a full ring refuses, then takes again once drained', () => {
  const buffers = createRingBuffers(64);
  const writer = ringWriter(buffers);
  const reader = ringReader(buffers);
  const out: string[] = [];
  const expected: string[] = [];
  let n = 0;
  for (let round = 0; round < 50; round += 1) {
    // Sizes that land the write position everywhere in the ring, multi-byte characters included.
    const text = `${round}:${'é'.repeat(round % 7)}${'x'.repeat(round % 11)}`;
    while (writer.write(`${text}#${n}`)) {
      expected.push(`${text}#${n}`);
      n += 1;
    }
    reader.drain((t) => out.push(t));
    assert.deepEqual(out, expected);
  }
  assert.ok(n > 100);
  // Larger than the ring: never fits.
  assert.equal(writer.write('y'.repeat(80)), false);
});

test('news: resolves at once when something was written since the last drain', async () => {
  const buffers = createRingBuffers(64);
  const writer = ringWriter(buffers);
  const reader = ringReader(buffers);
  assert.equal(reader.drain(() => undefined), 0);
  writer.write('a');
  await reader.news();
  const got: string[] = [];
  assert.equal(reader.drain((t) => got.push(t)), 1);
  assert.deepEqual(got, ['a']);
});
