import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatalogEntry } from './context.js';
import { Invalid } from './errors.js';
import {
  checkGlanceDownloadMethod,
  copiedProperties,
  DEFAULT_EXTRA_PROPERTIES,
  findGlanceEndpoint,
  GlanceEndpointNotFound,
} from './glance-download.js';

const ID = '0bd9f8d4-6a32-4bd6-a0e3-1c5e4f3b2a10';

test('checkGlanceDownloadMethod: Glance messages, the interface defaults to public in what the task records', () => {
  assert.throws(() => checkGlanceDownloadMethod({ name: 'glance-download' }), {
    message: "'glance_region' needs to be set for glance-download import method",
  });
  assert.throws(() => checkGlanceDownloadMethod({ name: 'glance-download', glance_region: 'R2' }), {
    message: "'glance_image_id' needs to be set for glance-download import method",
  });
  assert.throws(() => checkGlanceDownloadMethod({ glance_region: 'R2', glance_image_id: 'abc' }), (e: unknown) => {
    assert.ok(e instanceof Invalid);
    assert.equal(e.message, 'Remote image id does not look like a UUID: abc');
    return true;
  });
  const { method, recorded } = checkGlanceDownloadMethod({ name: 'glance-download', glance_region: 'R2', glance_image_id: ID });
  assert.deepEqual(method, { region: 'R2', imageId: ID, interface: 'public' });
  assert.deepEqual(recorded, { name: 'glance-download', glance_region: 'R2', glance_image_id: ID, glance_service_interface: 'public' });
  // Python's uuid.UUID also takes braces, no dashes and a urn prefix.
  for (const id of [`{${ID}}`, ID.replaceAll('-', ''), `urn:uuid:${ID}`, ID.toUpperCase()]) {
    assert.equal(checkGlanceDownloadMethod({ glance_region: 'R2', glance_image_id: id }).method.imageId, id);
  }
  assert.equal(checkGlanceDownloadMethod({ glance_region: 'R2', glance_image_id: ID, glance_service_interface: 'internal' }).method.interface, 'internal');
});

const catalog: CatalogEntry[] = [
  { type: 'identity', endpoints: [{ interface: 'public', url: 'http://ks', region: 'RegionTwo' }] },
  {
    type: 'image',
    endpoints: [
      { interface: 'public', url: 'http://one-pub', region: 'RegionOne' },
      { interface: 'public', url: 'http://two-pub', region: 'RegionTwo' },
      { interface: 'internal', url: 'http://two-int', region: 'RegionTwo' },
    ],
  },
];

test('findGlanceEndpoint: image service, region without regard to case, interface as given', () => {
  assert.equal(findGlanceEndpoint(catalog, 'RegionTwo', 'public'), 'http://two-pub');
  assert.equal(findGlanceEndpoint(catalog, 'regiontwo', 'internal'), 'http://two-int');
  assert.equal(findGlanceEndpoint(catalog, 'RegionOne', 'public'), 'http://one-pub');
  assert.throws(() => findGlanceEndpoint(catalog, 'RegionThree', 'public'), (e: unknown) => {
    assert.ok(e instanceof GlanceEndpointNotFound);
    assert.equal(e.message, 'public glance endpoint not found for region RegionThree');
    return true;
  });
  // The region is there, not that interface: Glance fails too (on a URL of 'None').
  assert.throws(() => findGlanceEndpoint(catalog, 'RegionOne', 'admin'), Invalid);
  assert.throws(() => findGlanceEndpoint(catalog, 'RegionTwo', 'Public'), Invalid);
  assert.throws(() => findGlanceEndpoint([], 'RegionTwo', 'public'), GlanceEndpointNotFound);
});

test('copiedProperties: the default prefixes, never os_glance* nor the os_ attributes', () => {
  const remote = {
    id: ID,
    name: 'src',
    status: 'active',
    hw_disk_bus: 'scsi',
    'trait:CUSTOM_X': 'required',
    os_distro: 'debian',
    os_type: 'linux',
    os_secure_boot: 'required',
    os_version: '12',
    os_glance_importing_to_stores: '',
    os_hash_algo: 'sha512',
    os_hidden: false,
    architecture: 'x86_64',
    hw_number: 3,
  };
  assert.deepEqual(copiedProperties(remote, DEFAULT_EXTRA_PROPERTIES), {
    hw_disk_bus: 'scsi',
    'trait:CUSTOM_X': 'required',
    os_distro: 'debian',
    os_type: 'linux',
    os_secure_boot: 'required',
  });
  assert.deepEqual(copiedProperties(remote, ['os_', 'architecture']), {
    os_distro: 'debian',
    os_type: 'linux',
    os_secure_boot: 'required',
    os_version: '12',
    architecture: 'x86_64',
  });
});
