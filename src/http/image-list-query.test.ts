import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Invalid } from '../domain/errors.js';
import { parseListRequest, splitInList } from './image-list-query.js';

const q = (s: string) => parseListRequest([...new URLSearchParams(s)]);

test('defaults: created_at desc, hidden excluded, accepted memberships', () => {
  const r = q('');
  assert.deepEqual(r.sort, [{ key: 'created_at', dir: 'desc' }]);
  assert.equal(r.filters.os_hidden, false);
  assert.equal(r.memberStatus, 'accepted');
  assert.equal(r.limit, undefined);
});

test('sort syntaxes', () => {
  assert.deepEqual(q('sort=name:asc,size').sort, [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }]);
  assert.deepEqual(q('sort_key=name&sort_key=size&sort_dir=asc').sort, [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'asc' }]);
  assert.throws(() => q('sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc'), Invalid);
  assert.throws(() => q('sort=name&sort_key=name'), /Old and new sorting syntax/);
  assert.throws(() => q('sort=foo'), /Invalid sort key: foo/);
});

test('filters: in-lists, comparisons, tags, properties, columns', () => {
  const r = q('name=in:a,"b,c",d&tag=x&tag=y&size_min=5&created_at=gte:2020-01-01T00:00:00Z&os_distro=ubuntu&checksum=abc&protected=true');
  assert.deepEqual(r.filters.name, { in: ['a', 'b,c', 'd'] });
  assert.deepEqual(r.filters.tags, ['x', 'y']);
  assert.equal(r.filters.size_min, 5);
  assert.equal(r.filters.created_at?.[0]?.op, 'gte');
  assert.equal(r.filters.created_at?.[0]?.value.toISOString(), '2020-01-01T00:00:00.000Z');
  assert.deepEqual(r.filters.properties, { os_distro: 'ubuntu' });
  assert.deepEqual(r.filters.columns, { checksum: 'abc' });
  assert.equal(r.filters.protected, true);
  assert.deepEqual(q('name=x').filters.name, { eq: 'x' });
  assert.deepEqual(q('created_at=2020-01-01T00:00:00Z').filters.created_at?.[0]?.op, 'eq');
});

test('Glance error messages', () => {
  assert.throws(() => q('limit=-1'), /limit param must be positive/);
  assert.throws(() => q('limit=abc'), /limit param must be an integer/);
  assert.throws(() => q('size_min=abc'), /non-numeric/);
  assert.throws(() => q('created_at=gte:yesterday'), /Bad "created_at" query filter format/);
  assert.throws(() => q('visibility=bogus'), /Invalid visibility value: bogus/);
  assert.throws(() => q('member_status=x'), /Invalid status: x/);
  assert.throws(() => q('name=like:x'), /unknown operator 'like'/);
  assert.throws(() => splitInList('a,"b'), /quote is not closed/);
});
