import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';

test('crc32c: the Castagnoli check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('crc32c: the checksum field is read as zeros', () => {
  const block = Buffer.from('head\0\0\0\0rest of the header');
  const sum = crc32c(block);
  block.writeUInt32LE(sum, 4);
  assert.equal(crc32c(block, 4), sum);
});
