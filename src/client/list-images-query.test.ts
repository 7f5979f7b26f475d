import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listImagesQuery } from './list-images-query.js';

test('filters, repeated tags, custom properties, sort keys and paging', () => {
  const q = listImagesQuery(
    { visibility: 'public', tags: ['a', 'b'], os_hidden: false, properties: { os_distro: 'cirros' }, sortKey: ['name', 'size'], sortDir: ['asc'] },
    { limit: 5, marker: 'm' },
  );
  assert.equal(q.toString(), 'visibility=public&tag=a&tag=b&os_hidden=false&os_distro=cirros&sort_key=name&sort_key=size&sort_dir=asc&limit=5&marker=m');
});

test('sort and sort keys cannot be mixed (Glance answers 400)', () => {
  assert.throws(() => listImagesQuery({ sort: 'name:asc', sortKey: ['size'] }), /cannot be combined/);
  assert.equal(listImagesQuery({ sort: 'name:asc,size:desc' }).get('sort'), 'name:asc,size:desc');
});
