import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildImagePatch, pointer } from './image-patch-builder.js';

const current = { id: 'x', name: 'a', min_ram: 0, os_distro: 'cirros', tags: ['t'] };

test('present attributes are replaced, absent ones added, unchanged ones skipped', () => {
  assert.deepEqual(buildImagePatch(current, { name: 'b', min_ram: 0, hw_disk_bus: 'virtio', skipped: undefined }), [
    { op: 'replace', path: '/name', value: 'b' },
    { op: 'add', path: '/hw_disk_bus', value: 'virtio' },
  ]);
});

test('remove only what is there (removing an absent property is a certain 409 in Glance)', () => {
  assert.deepEqual(buildImagePatch(current, {}, ['os_distro', 'nope']), [{ op: 'remove', path: '/os_distro' }]);
});

test('a property both set and removed is refused', () => {
  assert.throws(() => buildImagePatch(current, { os_distro: 'x' }, ['os_distro']), /both set and removed/);
});

test('JSON pointer escaping', () => {
  assert.equal(pointer('a/b~c'), '/a~1b~0c');
});
