import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, Invalid } from './errors.js';
import {
  DELETE_IMAGE,
  IMAGE_STATUSES,
  RESET_INTERRUPTED_UPLOAD,
  RESTORE_IMAGE,
  SCRUB_IMAGE,
  canTransition,
  deletionTarget,
  newImage,
  scheduleDelete,
  transition,
  type Image,
  type ImageStatus,
} from './image.js';

const T0 = new Date('2024-05-01T10:00:00Z');
const T1 = new Date('2024-05-01T11:00:00Z');

function image(status: ImageStatus = 'queued'): Image {
  const fresh = newImage({
    id: 'img',
    name: null,
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    owner: 'project-a',
    virtual_size: null,
    disk_format: 'raw',
    container_format: 'bare',
    min_ram: 0,
    min_disk: 0,
    created_at: T0,
    updated_at: T0,
    tags: [],
    properties: {},
  });
  return { ...fresh, status };
}

// glance/domain/__init__.py Image.valid_state_targets, written out again so a change to the
// table in image.ts has to be made twice on purpose.
const GLANCE: Record<ImageStatus, ImageStatus[]> = {
  queued: ['saving', 'uploading', 'importing', 'active', 'deleted'],
  saving: ['active', 'killed', 'deleted', 'queued'],
  uploading: ['importing', 'queued', 'deleted'],
  importing: ['active', 'deleted', 'queued'],
  active: ['pending_delete', 'deleted', 'deactivated'],
  killed: ['deleted'],
  pending_delete: ['deleted', 'active'],
  deleted: [],
  deactivated: ['active', 'deleted'],
};

test('a new image is queued with no data', () => {
  const img = image();
  assert.equal(img.status, 'queued');
  assert.deepEqual([img.size, img.checksum, img.os_hash_algo, img.os_hash_value, img.locations], [null, null, null, null, []]);
});

test("canTransition is Glance's table (and staying put is no transition)", () => {
  for (const from of IMAGE_STATUSES) {
    for (const to of IMAGE_STATUSES) {
      assert.equal(canTransition(from, to), from === to || GLANCE[from].includes(to), `${from} → ${to}`);
    }
  }
});

test('transition applies the changes with the status, and refuses what the table forbids', () => {
  const saving = transition(image('queued'), 'saving', { updated_at: T1 });
  assert.equal(saving.status, 'saving');
  assert.equal(saving.updated_at, T1);
  const active = transition(saving, 'active', { size: 4, checksum: 'c' });
  assert.deepEqual([active.status, active.size, active.checksum, active.id], ['active', 4, 'c', 'img']);
  assert.throws(
    () => transition(image('active'), 'saving'),
    (e: unknown) => e instanceof Conflict && e.message === 'Image status transition from active to saving is not allowed',
  );
  assert.throws(() => transition(image('deleted'), 'active'), Conflict);
});

test('the bulk changes the repository runs are allowed transitions', () => {
  assert.deepEqual(RESET_INTERRUPTED_UPLOAD, { from: ['saving'], to: 'queued' });
  assert.equal(DELETE_IMAGE.to, 'deleted');
  assert.deepEqual(
    [...DELETE_IMAGE.from].sort(),
    IMAGE_STATUSES.filter((s) => s !== 'deleted').sort(),
  );
});

test("delayed delete: only an image with data waits in pending_delete (Glance's Image.delete)", () => {
  const loc = { url: 'file:///x/img', metadata: { store: 'a' }, status: 'active' as const };
  const withData = { ...image('active'), locations: [loc] };
  assert.equal(deletionTarget(withData, true), 'pending_delete');
  assert.equal(deletionTarget(withData, false), 'deleted');
  assert.equal(deletionTarget(image('queued'), true), 'deleted', 'no data: nothing to scrub');
  const pending = scheduleDelete(withData, { updated_at: T1 });
  assert.deepEqual([pending.status, pending.updated_at, pending.locations], ['pending_delete', T1, [{ ...loc, status: 'pending_delete' }]]);
  assert.equal(withData.locations[0]?.status, 'active', 'the loaded image is left as it was');
  // Glance answers InvalidImageStatusTransition on delete with 400, not 409.
  assert.throws(
    () => scheduleDelete({ ...image('deactivated'), locations: [loc] }),
    (e: unknown) => e instanceof Invalid && e.message === 'Image status transition from deactivated to pending_delete is not allowed',
  );
  assert.deepEqual(SCRUB_IMAGE, { from: ['pending_delete'], to: 'deleted' });
  assert.deepEqual(RESTORE_IMAGE, { from: ['pending_delete'], to: 'active' });
});
