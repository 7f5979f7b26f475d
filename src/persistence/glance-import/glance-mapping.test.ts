import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapGlanceImage, mapGlanceTask, sameImage, storeTypeOf } from './glance-mapping.js';
import type { GlanceImage, GlanceTask } from './glance-reader.js';
import { parseGlanceTime } from './glance-reader.js';

const T = new Date('2026-01-01T00:00:00Z');

function glanceImage(over: Partial<GlanceImage> = {}): GlanceImage {
  return {
    id: 'i1', name: 'n', size: 1, virtualSize: null, status: 'active', visibility: 'private', checksum: null, osHashAlgo: null,
    osHashValue: null, diskFormat: 'raw', containerFormat: 'bare', owner: 'p', minDisk: 0, minRam: 0, protected: false,
    osHidden: false, createdAt: T, updatedAt: T, deleted: false, properties: [], tags: [], locations: [], members: [],
    ...over,
  };
}

const multi = { stores: [{ id: 'fast', dir: '/srv/fast' }, { id: 'slow', dir: '/srv/slow/' }], multiStore: true };
const single = { stores: [{ id: 'file', dir: '/var/lib/glance/images' }], multiStore: false };

test('file locations are served from the store whose directory holds the file; its id is Iris’s', () => {
  const m = mapGlanceImage(
    glanceImage({
      locations: [
        { url: 'file:///srv/slow/i1', metadataText: '{"store": "old-name", "extra": 1}', status: 'active' },
        { url: 'file:///srv/fast/i1', metadataText: '{"store": "fast"}', status: 'active' },
        { url: 'file:///srv/fast/sub/i1', metadataText: null, status: 'active' },
        { url: 'file:///srv/fastx/i1', metadataText: null, status: 'active' },
        { url: 'file:///srv/fast/i1', metadataText: null, status: 'weird' },
      ],
    }),
    multi,
  );
  assert.equal(m.kind, 'carry');
  if (m.kind !== 'carry') return;
  assert.deepEqual(m.mapped.locations, [
    { kind: 'servable', store: 'slow', storeChanged: true, path: '/srv/slow/i1' },
    { kind: 'servable', store: 'fast', storeChanged: false, path: '/srv/fast/i1' },
    { kind: 'not-servable', reason: 'with a file outside every configured filesystem store' },
    { kind: 'not-servable', reason: 'with a file outside every configured filesystem store' },
    { kind: 'skipped', reason: 'status weird Iris does not know' },
  ]);
  assert.deepEqual(m.mapped.image.locations.map((l) => l.metadata), [{ extra: 1, store: 'slow' }, { store: 'fast' }, {}, {}]);
});

test('a single-store Iris drops the store id, as Glance writes none in that mode', () => {
  const m = mapGlanceImage(glanceImage({ locations: [{ url: 'file:///var/lib/glance/images/i1', metadataText: '{"store": "local"}', status: 'active' }] }), single);
  assert.ok(m.kind === 'carry');
  assert.deepEqual(m.mapped.image.locations[0]?.metadata, {});
  assert.deepEqual(m.mapped.locations[0], { kind: 'servable', store: 'file', storeChanged: true, path: '/var/lib/glance/images/i1' });
});

test('locations of a store type Iris is configured with are served by that store; others are reported', () => {
  const withRemote = { ...multi, remote: [{ id: 'objects', type: 'swift' }, { id: 'cloud', type: 'swift' }, { id: 'bucket', type: 's3' }] };
  const m = mapGlanceImage(
    glanceImage({
      locations: [
        { url: 'swift+config://ref1/glance/i1', metadataText: '{"store": "cloud"}', status: 'active' },
        { url: 'swift+http://t:k@h/v1/AUTH_t/glance/i1', metadataText: '{"store": "old"}', status: 'active' },
        { url: 's3://h:8080/images/i1', metadataText: null, status: 'active' },
        { url: 'rbd://f/images/i1/snap', metadataText: '{"store": "ceph"}', status: 'active' },
      ],
    }),
    withRemote,
  );
  assert.ok(m.kind === 'carry');
  assert.deepEqual(m.mapped.locations, [
    { kind: 'servable', store: 'cloud', storeChanged: false },
    { kind: 'servable', store: 'objects', storeChanged: true },
    { kind: 'servable', store: 'bucket', storeChanged: true },
    { kind: 'not-servable', reason: 'in stores Iris does not have: rbd' },
  ]);
  assert.deepEqual(m.mapped.image.locations.map((l) => l.metadata), [{ store: 'cloud' }, { store: 'objects' }, { store: 'bucket' }, { store: 'ceph' }]);
  const one = mapGlanceImage(glanceImage({ locations: [{ url: 's3://h/images/i1', metadataText: '{"store": "s3"}', status: 'active' }] }), {
    ...single,
    remote: [{ id: 's3', type: 's3' }],
  });
  assert.ok(one.kind === 'carry');
  // Single store: no store id, as Glance writes none in that mode.
  assert.deepEqual(one.mapped.image.locations[0]?.metadata, {});
});

test('store types of the URLs Glance writes', () => {
  assert.deepEqual(
    ['swift+https://k/v3/x', 'swift+config://ref/c/x', 'rbd://f/p/i/s', 's3+https://a:b@h/b/k', 'https://h/x', 'cinder://v', 'vsphere://h/f', 'file:///x'].map(storeTypeOf),
    ['swift', 'swift', 'rbd', 's3', 'http', 'cinder', 'vsphere', 'file'],
  );
});

test('deleted images (pending_delete too) and unknown statuses are skipped with the reason', () => {
  assert.deepEqual(mapGlanceImage(glanceImage({ deleted: true }), multi), { kind: 'skip', reason: 'deleted in Glance' });
  assert.deepEqual(mapGlanceImage(glanceImage({ status: 'pending_delete', deleted: true }), multi), { kind: 'skip', reason: 'deleted in Glance' });
  assert.deepEqual(mapGlanceImage(glanceImage({ status: 'frozen' }), multi), { kind: 'skip', reason: 'status frozen Iris does not know' });
  assert.deepEqual(mapGlanceImage(glanceImage({ visibility: 'secret' }), multi), { kind: 'skip', reason: 'visibility secret Iris does not know' });
});

test('members keep their status; an unknown status is skipped; can_share is noted', () => {
  const member = (member: string, status: string, canShare = false) => ({ member, status, canShare, createdAt: T, updatedAt: T });
  const m = mapGlanceImage(glanceImage({ members: [member('a', 'accepted', true), member('b', 'pending'), member('c', 'rejected'), member('d', 'maybe')] }), multi);
  assert.ok(m.kind === 'carry');
  assert.deepEqual(m.mapped.members.map((x) => [x.member_id, x.status]), [['a', 'accepted'], ['b', 'pending'], ['c', 'rejected']]);
  assert.deepEqual(m.mapped.skippedMembers, ['status maybe Iris does not know']);
  assert.deepEqual(m.mapped.notes, ['member a: can_share (a v1 attribute) not carried']);
});

test('properties keep 4-byte UTF-8 and a "__proto__" name as data; tags are a set', () => {
  const m = mapGlanceImage(glanceImage({ properties: [{ name: '__proto__', value: 'x' }, { name: 'e', value: '😀' }], tags: ['t', 't', 'u'] }), multi);
  assert.ok(m.kind === 'carry');
  assert.deepEqual(Object.entries(m.mapped.image.properties), [['__proto__', 'x'], ['e', '😀']]);
  assert.deepEqual(m.mapped.image.tags, ['t', 'u']);
  assert.ok(sameImage(m.mapped.image, { ...m.mapped.image, tags: ['u', 't'] }), 'tag order is not a difference');
  assert.ok(!sameImage(m.mapped.image, { ...m.mapped.image, properties: { e: '😀' } }));
});

test('tasks: types Iris does not run and deleted tasks are skipped; bad JSON becomes null with a note', () => {
  const task: GlanceTask = {
    id: 't', type: 'api_image_import', status: 'processing', owner: 'p', imageId: null, requestId: null, userId: null, expiresAt: null,
    createdAt: T, updatedAt: T, deleted: false, inputText: '{"a": 1}', resultText: '[1]', message: null,
  };
  const m = mapGlanceTask(task);
  assert.ok(m.kind === 'carry');
  assert.deepEqual([m.task.input, m.task.result, m.task.message], [{ a: 1 }, null, '']);
  assert.deepEqual(m.notes, ['task t: result was not a JSON object; carried as null']);
  assert.deepEqual(mapGlanceTask({ ...task, type: 'location_import' }), { kind: 'skip', reason: 'type location_import Iris does not run' });
  assert.deepEqual(mapGlanceTask({ ...task, deleted: true }), { kind: 'skip', reason: 'deleted in Glance' });
});

test("Glance's naive-UTC DATETIME text from each engine", () => {
  assert.equal(parseGlanceTime('2026-12-06 09:44:25.123456', 'x').toISOString(), '2026-12-06T09:44:25.123Z');
  assert.equal(parseGlanceTime('2026-12-06 09:44:25', 'x').toISOString(), '2026-12-06T09:44:25.000Z');
  assert.equal(parseGlanceTime('2026-12-06 10:44:25+01', 'x').toISOString(), '2026-12-06T09:44:25.000Z');
  assert.throws(() => parseGlanceTime('yesterday', 'image i created_at'), /image i created_at: "yesterday" is not a date-time/);
});
