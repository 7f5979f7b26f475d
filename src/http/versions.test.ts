import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedVersions, negotiatedUrl, versionsDocument } from './versions.js';

const ids = (multiStore: boolean): string[] =>
  (versionsDocument('http://h', { multiStore }).versions as { id: string; status: string }[]).map((v) => `${v.id} ${v.status}`);

test('single store: v2.15, v2.9, v2.17 CURRENT, then v2.7 … v2.0 (upstream Glance without enabled_backends or cache)', () => {
  assert.deepEqual(ids(false), [
    'v2.15 SUPPORTED', 'v2.9 SUPPORTED', 'v2.17 CURRENT', 'v2.7 SUPPORTED', 'v2.6 SUPPORTED', 'v2.5 SUPPORTED',
    'v2.4 SUPPORTED', 'v2.3 SUPPORTED', 'v2.2 SUPPORTED', 'v2.1 SUPPORTED', 'v2.0 SUPPORTED',
  ]);
});

test('multi-store: v2.13 … v2.8 replace v2.9 alone (Glance with enabled_backends, no cache)', () => {
  assert.deepEqual(ids(true).slice(0, 9), [
    'v2.15 SUPPORTED', 'v2.13 SUPPORTED', 'v2.12 SUPPORTED', 'v2.11 SUPPORTED', 'v2.10 SUPPORTED',
    'v2.9 SUPPORTED', 'v2.8 SUPPORTED', 'v2.17 CURRENT', 'v2.7 SUPPORTED',
  ]);
  assert.equal(ids(true).length, 16);
  const links = (versionsDocument('http://h', { multiStore: true }).versions as { links: unknown }[])[0]?.links;
  assert.deepEqual(links, [{ rel: 'self', href: 'http://h/v2/' }]);
});

test('negotiatedUrl: version prefixes, slashes, /versions, /healthcheck and the media type, as Glance negotiates', () => {
  const multi = allowedVersions({ multiStore: true });
  const single = allowedVersions({ multiStore: false });
  const cases: [string, string | undefined, string][] = [
    ['/v2/images?limit=1', undefined, '/v2/images?limit=1'],
    ['//v2.9//images?x=//', undefined, '/v2/images?x=//'],
    ['/v2.15/images//', undefined, '/v2/images//'],
    ['/%762/images', undefined, '/v2/images'],
    ['/v2.16/images', undefined, '/v2.16/images'],
    ['/versions/', undefined, '/versions'],
    ['//versions/a/b?q=1', undefined, '/versions?q=1'],
    ['//healthcheck?x', undefined, '/healthcheck?x'],
    ['/healthcheck/', undefined, '/healthcheck/'],
    ['/', undefined, '/'],
    ['/images', 'application/vnd.openstack.images-v2', '/v2/images'],
    ['/v2/images', 'application/vnd.openstack.images-v2.1', '/v2/v2/images'],
    ['/v2/images?a=1', 'application/vnd.openstack.images-v9', '/?a=1'],
  ];
  for (const [url, accept, expected] of cases) assert.equal(negotiatedUrl(url, accept, multi), expected, url);
  assert.equal(negotiatedUrl('/v2.8/images', undefined, multi), '/v2/images');
  assert.equal(negotiatedUrl('/v2.8/images', undefined, single), '/v2.8/images');
});

test('image cache on: v2.18 CURRENT, v2.17, v2.16, v2.15 and v2.14 lead the list, and /v2.18/ … /v2.14/ route', () => {
  const doc = versionsDocument('http://h', { multiStore: false, cache: true });
  const got = (doc.versions as { id: string; status: string }[]).map((v) => `${v.id} ${v.status}`);
  assert.deepEqual(got.slice(0, 6), ['v2.18 CURRENT', 'v2.17 SUPPORTED', 'v2.16 SUPPORTED', 'v2.15 SUPPORTED', 'v2.14 SUPPORTED', 'v2.9 SUPPORTED']);
  assert.equal(got.length, 14);
  const versions = allowedVersions({ multiStore: false, cache: true });
  assert.equal(negotiatedUrl('/v2.18/cache/prune', undefined, versions), '/v2/cache/prune');
  assert.equal(negotiatedUrl('/v2.17/images/x/locations', undefined, versions), '/v2/images/x/locations');
  assert.equal(negotiatedUrl('/v2.17/images', undefined, allowedVersions({ multiStore: false })), '/v2/images', 'v2.17 also without the cache');
  assert.equal(negotiatedUrl('/v2.16/cache', undefined, versions), '/v2/cache');
  assert.equal(negotiatedUrl('/v2.14/images', undefined, versions), '/v2/images');
  assert.equal(negotiatedUrl('/v2.16/images', undefined, allowedVersions({ multiStore: false })), '/v2.16/images', 'not without the cache');
});
