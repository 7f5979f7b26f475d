import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDescriptor } from './vmdk-descriptor.js';

const SPARSE = [
  '# Disk DescriptorFile',
  'version=1',
  'CID=fffffffe',
  'parentCID=ffffffff',
  'createType="monolithicSparse"',
  '',
  '# Extent description',
  'RW 2048 SPARSE "disk.vmdk"',
  '',
  'ddb.virtualHWVersion = "4"',
  'ddb.adapterType = "ide"',
].join('\r\n');

test('vmdk descriptor: a single-file sparse descriptor', () => {
  assert.deepEqual(parseDescriptor(SPARSE), {
    createType: 'monolithicSparse',
    extents: [{ access: 'RW', sectors: 2048, type: 'SPARSE', file: 'disk.vmdk' }],
    hasParent: false,
    unknownLines: 0,
  });
});

test('vmdk descriptor: flat extents keep their file and offset line', () => {
  const desc = parseDescriptor('createType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\nRDONLY 16 ZERO\n');
  assert.deepEqual(desc.extents, [
    { access: 'RW', sectors: 8, type: 'FLAT', file: '/etc/passwd' },
    { access: 'RDONLY', sectors: 16, type: 'ZERO', file: null },
  ]);
});

test('vmdk descriptor: a createType QEMU could read differently is no createType', () => {
  // Two of them, or one hidden in a comment before the real one (QEMU takes the first mention).
  assert.equal(parseDescriptor('createType="monolithicSparse"\ncreateType="monolithicFlat"\n').createType, null);
  assert.equal(parseDescriptor('# createType="monolithicFlat"\ncreateType="monolithicSparse"\n').createType, null);
  assert.equal(parseDescriptor('CreateType = "streamOptimized"\n').createType, 'streamOptimized');
});

test('vmdk descriptor: a parent hint anywhere is a parent; unknown lines are counted', () => {
  assert.equal(parseDescriptor(`${SPARSE}\n# parentFileNameHint="x.vmdk"\n`).hasParent, true);
  assert.equal(parseDescriptor(`${SPARSE}\nthis is not a descriptor line\n`).unknownLines, 1);
});
