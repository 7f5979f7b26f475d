/**
 * The project's own conformance cases, run in this order against both servers after
 * transcript.py's calls. Each creates what it uses (names carry the run's `{{run}}` suffix),
 * lists only with `name=in:` over its own images and an explicit sort on unique names, and
 * acts as projects C and D, which transcript.py never uses: its unfiltered list calls (as
 * project B) then cannot see these images even when both run at the same time.
 *
 * Variables: `run` (unique per run), `zero` (the all-zero UUID), `newid` (a fresh UUID for
 * create-with-id); steps add more with `save`.
 */
import { createHash } from 'node:crypto';
import type { Step } from './scenario-runner.js';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const PATCH21 = { 'Content-Type': 'application/openstack-images-v2.1-json-patch' };
const PATCH20 = { 'Content-Type': 'application/openstack-images-v2.0-json-patch' };
const OCTET = { 'Content-Type': 'application/octet-stream' };
const PROJECT_C = 'cccccccc000000000000000000000003';
const PROJECT_D = 'dddddddd000000000000000000000004';
const C = { 'X-Project-Id': PROJECT_C, 'X-Roles': 'member,reader', 'X-User-Id': 'user-c' };
const D = { 'X-Project-Id': PROJECT_D, 'X-Roles': 'member,reader', 'X-User-Id': 'user-d' };
const C_READER = { ...C, 'X-Roles': 'reader' };
// Glance's no-project admin context has no roles, so rules like publicize_image (role:admin) refuse it.
const C_ADMIN = { ...C, 'X-Roles': 'admin,member,reader' };
const ACCEPT_JSON = { Accept: 'application/json' };
const ACCEPT_ANY = { Accept: '*/*' };

/** Deterministic bytes (stable checksums across runs and servers). */
function payload(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

const DATA100 = payload(100, 1);
const DATA10 = payload(10, 2);
const DATA1000 = payload(1000, 3);
const MD5_10 = createHash('md5').update(DATA10).digest('hex');
const SHA512_10 = createHash('sha512').update(DATA10).digest('hex');

const n = (suffix: string): string => `cf-{{run}}-${suffix}`;
const L = ['l1', 'l2', 'l3', 'l4', 'l5'].map(n);
const LIST = `name=in:${L.join(',')}`;
const SORTED = `${LIST}&sort=name:asc`;

const get = (name: string, path: string, headers?: Record<string, string>): Step => ({ case: name, method: 'GET', path, headers });
const list = (name: string, query: string, headers?: Record<string, string>): Step =>
  get(`list/${name}`, `/v2/images?${query}`, headers);
const patch = (name: string, id: string, ops: unknown, headers: Record<string, string> = C): Step => ({
  case: `patch/${name}`,
  method: 'PATCH',
  path: `/v2/images/{{${id}}}`,
  headers: { ...PATCH21, ...headers },
  json: ops,
});
const create = (name: string, body: unknown, save?: string, headers: Record<string, string> = {}): Step => ({
  case: `create/${name}`,
  method: 'POST',
  path: '/v2/images',
  headers: { ...JSON_TYPE, ...headers },
  json: body,
  save: save === undefined ? undefined : { [save]: 'id' },
});
const upload = (name: string, id: string, data: Buffer, headers: Record<string, string> = {}): Step => ({
  case: `upload/${name}`,
  method: 'PUT',
  path: `/v2/images/{{${id}}}/file`,
  headers: { ...OCTET, ...headers },
  raw: data,
});
const range = (name: string, value: string, header = 'Range'): Step =>
  get(`range/${name}`, '/v2/images/{{full}}/file', { ...C, [header]: value });
const del = (name: string, id: string, headers: Record<string, string> = {}): Step => ({
  case: `delete/${name}`,
  method: 'DELETE',
  path: `/v2/images/{{${id}}}`,
  headers,
});
const action = (name: string, id: string, verb: string, headers: Record<string, string> = {}): Step => ({
  case: `action/${name}`,
  method: 'POST',
  path: `/v2/images/{{${id}}}/actions/${verb}`,
  headers,
});

const discovery: Step[] = [
  get('discovery/root-accept-json', '/', ACCEPT_JSON),
  get('discovery/v2', '/v2'),
  get('discovery/v2-slash', '/v2/'),
  get('discovery/v1-images', '/v1/images'),
  get('discovery/schema-unknown', '/v2/schemas/bogus'),
  get('discovery/schema-trailing-slash', '/v2/schemas/image/'),
  get('discovery/images-trailing-slash', `/v2/images/?name=${n('none')}`),
  get('discovery/info-stores', '/v2/info/stores'),
  get('discovery/tasks', '/v2/tasks'),
];

const creates: Step[] = [
  create(
    'full',
    {
      name: n('full'),
      disk_format: 'raw',
      container_format: 'bare',
      min_disk: 2,
      min_ram: 64,
      protected: false,
      visibility: 'private',
      tags: ['b', 'a', 'a'],
      os_distro: 'debian',
      x_custom: 'v',
    },
    'full',
    C,
  ),
  create('empty-object', {}, 'empty'),
  create('with-id', { id: '{{newid}}', name: n('with-id') }, 'withid'),
  create('duplicate-id', { id: '{{newid}}', name: n('dup') }),
  create('name-null', { name: null }, 'nameNull'),
  create('name-too-long', { name: 'n'.repeat(256) }),
  create('tags-not-array', { name: n('x'), tags: 'a' }),
  create('tag-too-long', { name: n('x'), tags: ['t'.repeat(256)] }),
  create('tag-not-string', { name: n('x'), tags: [1] }),
  create('min-ram-string', { name: n('x'), min_ram: '64' }),
  create('min-disk-negative', { name: n('x'), min_disk: -1 }),
  create('protected-string', { name: n('x'), protected: 'yes' }),
  create('os-hidden-string', { name: n('x'), os_hidden: 'yes' }),
  create('kernel-id-bad', { name: n('x'), kernel_id: 'nope' }),
  create('container-format-bad', { name: n('x'), container_format: 'floppy' }),
  create('status-read-only', { name: n('x'), status: 'active' }),
  create('size-read-only', { name: n('x'), size: 5 }),
  create('created-at-read-only', { name: n('x'), created_at: '2020-01-01T00:00:00Z' }),
  create('self-read-only', { name: n('x'), self: '/v2/images/x' }),
  create('locations', { name: n('x'), locations: [] }),
  create('custom-null', { name: n('x'), x_null: null }),
  create('custom-key-too-long', { name: n('x'), ['k'.repeat(256)]: 'v' }),
  create('owner-as-admin', { name: n('owned'), owner: PROJECT_C }, 'owned'),
  create('community-as-member', { name: n('community'), visibility: 'community' }, 'community', C),
  create('public-as-admin', { name: n('public-noproject'), visibility: 'public' }, 'publicNoProject'),
  create('public-as-project-admin', { name: n('public'), visibility: 'public' }, 'public', C_ADMIN),
  create('array-body', []),
  create('string-body', 'x'),
  { case: 'create/no-content-type', method: 'POST', path: '/v2/images', raw: `{"name": "${n('noct')}"}`, save: { noct: 'id' } },
  create('reader-role', { name: n('reader') }, 'reader', C_READER),
  create('fault-json', { name: n('x'), disk_format: 'floppy' }, undefined, ACCEPT_JSON),
  create('fault-html', { name: n('x'), disk_format: 'floppy' }, undefined, ACCEPT_ANY),
  create('forbidden-json', { name: n('x'), status: 'active' }, undefined, ACCEPT_JSON),
];

const shows: Step[] = [
  get('show/full', '/v2/images/{{full}}', C),
  get('show/full-as-admin', '/v2/images/{{full}}'),
  get('show/full-as-other-project', '/v2/images/{{full}}', D),
  get('show/empty-object', '/v2/images/{{empty}}'),
  get('show/with-id', '/v2/images/{{newid}}'),
  get('show/name-null', '/v2/images/{{nameNull}}'),
  get('show/owned', '/v2/images/{{owned}}', C),
  get('show/community-as-other-project', '/v2/images/{{community}}', D),
  get('show/public-as-member', '/v2/images/{{public}}', C),
  get('show/id-suffix', '/v2/images/{{full}}x'),
  { case: 'show/head', method: 'HEAD', path: '/v2/images/{{full}}', headers: C },
];

const routing: Step[] = [
  { case: 'method/post-image', method: 'POST', path: '/v2/images/{{full}}', headers: C },
  { case: 'method/put-collection', method: 'PUT', path: '/v2/images' },
  { case: 'method/patch-collection', method: 'PATCH', path: '/v2/images', headers: PATCH21, json: [] },
  { case: 'method/post-file', method: 'POST', path: '/v2/images/{{full}}/file', headers: C },
  { case: 'method/delete-file', method: 'DELETE', path: '/v2/images/{{full}}/file', headers: C },
  { case: 'method/get-tag', method: 'GET', path: '/v2/images/{{full}}/tags/a', headers: C },
  { case: 'method/post-tag', method: 'POST', path: '/v2/images/{{full}}/tags/a', headers: C },
  { case: 'method/get-action', method: 'GET', path: '/v2/images/{{full}}/actions/deactivate' },
  { case: 'method/put-schema', method: 'PUT', path: '/v2/schemas/image' },
  { case: 'method/delete-collection-json', method: 'DELETE', path: '/v2/images', headers: ACCEPT_JSON },
  { case: 'method/delete-collection-html', method: 'DELETE', path: '/v2/images', headers: ACCEPT_ANY },
];

const faults: Step[] = [
  get('fault/404-accept-text-html', '/v2/images/{{zero}}', { Accept: 'text/html' }),
  get('fault/404-accept-json-preferred', '/v2/images/{{zero}}', { Accept: 'text/html;q=0.5, application/json' }),
  get('fault/404-accept-xml', '/v2/images/{{zero}}', { Accept: 'application/xml' }),
  get('fault/404-unknown-path-json', '/v2/nonexistent', ACCEPT_JSON),
  get('fault/401-json', '/v2/images/{{full}}', { ...C, 'X-Identity-Status': 'Invalid', ...ACCEPT_JSON }),
  get('fault/401-html', '/v2/images/{{full}}', { ...C, 'X-Identity-Status': 'Invalid', ...ACCEPT_ANY }),
];

const uploads: Step[] = [
  upload('wrong-content-type', 'full', DATA100, { ...C, 'Content-Type': 'text/plain' }),
  upload('wrong-content-type-json-fault', 'full', DATA100, { ...C, 'Content-Type': 'text/plain', ...ACCEPT_JSON }),
  upload('wrong-content-type-html-fault', 'full', DATA100, { ...C, 'Content-Type': 'text/plain', ...ACCEPT_ANY }),
  { case: 'upload/no-content-type', method: 'PUT', path: '/v2/images/{{full}}/file', headers: C, raw: DATA100 },
  create('octet-parameter-target', { name: n('octet-parameter'), disk_format: 'raw', container_format: 'bare' }, 'octparam'),
  upload('octet-with-parameter', 'octparam', DATA10, { 'Content-Type': 'application/octet-stream; foo=bar' }),
  upload('no-disk-format', 'nameNull', DATA10),
  get('show/after-no-disk-format', '/v2/images/{{nameNull}}'),
  upload('missing-image', 'zero', DATA100),
  upload('other-project', 'full', DATA100, D),
  upload('ok', 'full', DATA100, C),
  get('show/after-upload', '/v2/images/{{full}}', C),
  upload('active', 'full', DATA100, C),
  upload('active-json-fault', 'full', DATA100, { ...C, ...ACCEPT_JSON }),
  get('download/full', '/v2/images/{{full}}/file', C),
  get('download/other-project', '/v2/images/{{full}}/file', D),
  get('download/missing-image', '/v2/images/{{zero}}/file'),
  create('chunked-target', { name: n('chunked'), disk_format: 'raw', container_format: 'bare' }, 'chunked'),
  { case: 'upload/chunked', method: 'PUT', path: '/v2/images/{{chunked}}/file', headers: OCTET, chunks: [DATA1000.subarray(0, 300), DATA1000.subarray(300)] },
  get('show/after-chunked', '/v2/images/{{chunked}}'),
  get('download/chunked', '/v2/images/{{chunked}}/file'),
  create('zero-target', { name: n('zero'), disk_format: 'raw', container_format: 'bare' }, 'zeroSize'),
  upload('zero-bytes', 'zeroSize', Buffer.alloc(0)),
  get('show/after-zero-bytes', '/v2/images/{{zeroSize}}'),
  get('download/zero-bytes', '/v2/images/{{zeroSize}}/file'),
  create('chunked-empty-target', { name: n('chunked-empty'), disk_format: 'raw', container_format: 'bare' }, 'chunkedEmpty'),
  { case: 'upload/chunked-no-chunks', method: 'PUT', path: '/v2/images/{{chunkedEmpty}}/file', headers: OCTET, chunks: [] },
  get('show/after-chunked-no-chunks', '/v2/images/{{chunkedEmpty}}'),
];

const ranges: Step[] = [
  range('first-byte', 'bytes=0-0'),
  range('last-byte', 'bytes=99-99'),
  range('middle', 'bytes=10-19'),
  range('suffix-one', 'bytes=-1'),
  range('suffix-all', 'bytes=-100'),
  range('suffix-longer-than-image', 'bytes=-200'),
  range('suffix-zero', 'bytes=-0'),
  range('open', 'bytes=50-'),
  range('open-from-zero', 'bytes=0-'),
  range('open-at-end', 'bytes=100-'),
  range('past-end', 'bytes=90-200'),
  range('unsatisfiable', 'bytes=200-300'),
  range('reversed', 'bytes=5-2'),
  range('multi', 'bytes=0-1,5-6'),
  range('multi-spaced', 'bytes=0-1, 3-4'),
  range('bad-unit', 'bits=0-1'),
  range('garbage', 'bytes=abc'),
  range('empty-spec', 'bytes='),
  range('content-range-request', 'bytes 0-9/*', 'Content-Range'),
  range('content-range-request-with-size', 'bytes 10-19/100', 'Content-Range'),
  range('content-range-request-past-end', 'bytes 200-300/*', 'Content-Range'),
  get('range/unsatisfiable-json-fault', '/v2/images/{{full}}/file', { ...C, Range: 'bytes=200-300', ...ACCEPT_JSON }),
  get('range/queued-image', '/v2/images/{{owned}}/file', { ...C, Range: 'bytes=0-1' }),
  get('download/queued-image', '/v2/images/{{withid}}/file'),
];

const deactivation: Step[] = [
  action('deactivate-as-member', 'full', 'deactivate', C),
  action('deactivate', 'full', 'deactivate'),
  get('show/deactivated', '/v2/images/{{full}}', C),
  get('download/deactivated-as-owner', '/v2/images/{{full}}/file', C),
  get('download/deactivated-as-admin', '/v2/images/{{full}}/file'),
  get('range/deactivated-as-admin', '/v2/images/{{full}}/file', { Range: 'bytes=0-3' }),
  patch('deactivated-rename', 'full', [{ op: 'replace', path: '/name', value: n('full-renamed') }]),
  action('deactivate-again', 'full', 'deactivate'),
  action('reactivate-as-member', 'full', 'reactivate', C),
  action('reactivate', 'full', 'reactivate'),
  get('show/reactivated', '/v2/images/{{full}}', C),
  action('deactivate-missing', 'zero', 'deactivate'),
  action('reactivate-missing', 'zero', 'reactivate'),
  action('deactivate-other-project', 'full', 'deactivate', D),
  action('reactivate-queued', 'owned', 'reactivate'),
  action('unknown-json-fault', 'full', 'explode', ACCEPT_JSON),
];

const tags: Step[] = [
  { case: 'tags/add', method: 'PUT', path: '/v2/images/{{full}}/tags/c', headers: C },
  { case: 'tags/add-existing', method: 'PUT', path: '/v2/images/{{full}}/tags/c', headers: C },
  { case: 'tags/add-encoded-space', method: 'PUT', path: '/v2/images/{{full}}/tags/a%20b', headers: C },
  { case: 'tags/add-too-long', method: 'PUT', path: `/v2/images/{{full}}/tags/${'t'.repeat(256)}`, headers: C },
  { case: 'tags/add-missing-image', method: 'PUT', path: '/v2/images/{{zero}}/tags/c' },
  { case: 'tags/add-other-project', method: 'PUT', path: '/v2/images/{{full}}/tags/c', headers: D },
  { case: 'tags/delete', method: 'DELETE', path: '/v2/images/{{full}}/tags/c', headers: C },
  { case: 'tags/delete-again', method: 'DELETE', path: '/v2/images/{{full}}/tags/c', headers: C },
  { case: 'tags/delete-missing-image', method: 'DELETE', path: '/v2/images/{{zero}}/tags/c' },
  { case: 'tags/delete-json-fault', method: 'DELETE', path: '/v2/images/{{full}}/tags/nope', headers: { ...C, ...ACCEPT_JSON } },
  get('show/after-tags', '/v2/images/{{full}}', C),
];

const patches: Step[] = [
  create('patch-target', { name: n('patch'), tags: ['x'] }, 'p', C),
  patch('replace-name', 'p', [{ op: 'replace', path: '/name', value: n('patch-2') }]),
  patch('add-core', 'p', [{ op: 'add', path: '/min_ram', value: 128 }]),
  patch('add-custom', 'p', [{ op: 'add', path: '/x_a', value: '1' }]),
  patch('replace-custom', 'p', [{ op: 'replace', path: '/x_a', value: '2' }]),
  patch('add-existing-custom', 'p', [{ op: 'add', path: '/x_a', value: '3' }]),
  patch('remove-custom', 'p', [{ op: 'remove', path: '/x_a' }]),
  patch('add-tag-append', 'p', [{ op: 'add', path: '/tags/-', value: 'y' }]),
  patch('add-tags-whole', 'p', [{ op: 'add', path: '/tags', value: ['m', 'n'] }]),
  patch('replace-tags-duplicates', 'p', [{ op: 'replace', path: '/tags', value: ['d', 'd', 'e'] }]),
  patch('replace-tags-empty', 'p', [{ op: 'replace', path: '/tags', value: [] }]),
  patch('replace-tags-not-list', 'p', [{ op: 'replace', path: '/tags', value: 'z' }]),
  patch('remove-tags', 'p', [{ op: 'remove', path: '/tags' }]),
  patch('remove-name', 'p', [{ op: 'remove', path: '/name' }]),
  patch('remove-min-ram', 'p', [{ op: 'remove', path: '/min_ram' }]),
  patch('add-name-null', 'p', [{ op: 'add', path: '/name', value: null }]),
  patch('replace-visibility', 'p', [{ op: 'replace', path: '/visibility', value: 'shared' }]),
  patch('replace-visibility-bad', 'p', [{ op: 'replace', path: '/visibility', value: 'bogus' }]),
  patch('replace-visibility-public-as-member', 'p', [{ op: 'replace', path: '/visibility', value: 'public' }]),
  patch('replace-protected-string', 'p', [{ op: 'replace', path: '/protected', value: 'x' }]),
  patch('replace-os-hidden', 'p', [{ op: 'replace', path: '/os_hidden', value: true }]),
  patch('replace-disk-format-queued', 'p', [{ op: 'replace', path: '/disk_format', value: 'qcow2' }]),
  patch('replace-disk-format-bad', 'p', [{ op: 'replace', path: '/disk_format', value: 'floppy' }]),
  patch('replace-min-disk-string', 'p', [{ op: 'replace', path: '/min_disk', value: '1' }]),
  patch('replace-owner-as-member', 'p', [{ op: 'replace', path: '/owner', value: PROJECT_D }]),
  patch('replace-id', 'p', [{ op: 'replace', path: '/id', value: '{{zero}}' }]),
  patch('replace-created-at', 'p', [{ op: 'replace', path: '/created_at', value: '2020-01-01T00:00:00Z' }]),
  patch('replace-size', 'p', [{ op: 'replace', path: '/size', value: 1 }]),
  patch('replace-checksum', 'p', [{ op: 'replace', path: '/checksum', value: 'x' }]),
  patch('replace-self', 'p', [{ op: 'replace', path: '/self', value: 'x' }]),
  patch('replace-locations', 'p', [{ op: 'replace', path: '/locations', value: [] }]),
  patch('atomic', 'p', [
    { op: 'replace', path: '/name', value: n('atomic') },
    { op: 'replace', path: '/status', value: 'active' },
  ]),
  get('show/after-atomic-patch', '/v2/images/{{p}}', C),
  patch('missing-value', 'p', [{ op: 'add', path: '/x_b' }]),
  patch('missing-path', 'p', [{ op: 'add', value: 'v' }]),
  patch('missing-op', 'p', [{ path: '/x_b', value: 'v' }]),
  patch('path-without-slash', 'p', [{ op: 'add', path: 'x_b', value: 'v' }]),
  patch('escaped-slash', 'p', [{ op: 'add', path: '/x~1y', value: 'v' }]),
  patch('escaped-tilde', 'p', [{ op: 'add', path: '/x~0y', value: 'v' }]),
  patch('bad-escape', 'p', [{ op: 'add', path: '/x~2y', value: 'v' }]),
  { case: 'patch/not-json', method: 'PATCH', path: '/v2/images/{{p}}', headers: { ...PATCH21, ...C }, raw: 'nope' },
  patch('empty-list', 'p', []),
  patch('custom-number', 'p', [{ op: 'add', path: '/x_n', value: 5 }]),
  patch('custom-key-too-long', 'p', [{ op: 'add', path: `/${'k'.repeat(256)}`, value: 'v' }]),
  patch('name-too-long', 'p', [{ op: 'replace', path: '/name', value: 'n'.repeat(256) }]),
  patch('test-op', 'p', [{ op: 'test', path: '/name', value: 'x' }]),
  patch('v20-add', 'p', [{ add: '/x_v', value: 'v' }], { ...C, ...PATCH20 }),
  patch('v20-replace', 'p', [{ replace: '/name', value: n('patch-v20') }], { ...C, ...PATCH20 }),
  patch('v20-remove', 'p', [{ remove: '/x_v' }], { ...C, ...PATCH20 }),
  patch('v20-op-style', 'p', [{ op: 'replace', path: '/name', value: 'y' }], { ...C, ...PATCH20 }),
  patch('v20-two-ops-in-one', 'p', [{ add: '/x_w', replace: '/name', value: 'y' }], { ...C, ...PATCH20 }),
  patch('v21-op-as-key', 'p', [{ replace: '/name', value: 'y' }]),
  patch('content-type-with-charset', 'p', [{ op: 'add', path: '/x_c', value: 'c' }], {
    ...C,
    'Content-Type': 'application/openstack-images-v2.1-json-patch; charset=UTF-8',
  }),
  { case: 'patch/no-content-type', method: 'PATCH', path: '/v2/images/{{p}}', headers: C, raw: '[]' },
  patch('unsupported-type-json-fault', 'p', [], { ...C, 'Content-Type': 'application/json', ...ACCEPT_JSON }),
  patch('unsupported-type-html-fault', 'p', [], { ...C, 'Content-Type': 'application/json', ...ACCEPT_ANY }),
  patch('other-project', 'p', [{ op: 'replace', path: '/name', value: 'y' }], D),
  patch('missing-image', 'zero', [{ op: 'replace', path: '/name', value: 'y' }], {}),
  patch('active-disk-format-json-fault', 'full', [{ op: 'replace', path: '/disk_format', value: 'qcow2' }], { ...C, ...ACCEPT_JSON }),
  patch('active-min-ram', 'full', [{ op: 'replace', path: '/min_ram', value: 256 }]),
  patch('replace-owner-as-admin', 'owned', [{ op: 'replace', path: '/owner', value: PROJECT_D }], {}),
  get('show/after-patches', '/v2/images/{{p}}', C),
];

const listSetup: Step[] = [
  create('l1', { name: L[0], disk_format: 'raw', container_format: 'bare', tags: ['red', 'big'], color: 'red', owner: PROJECT_C, visibility: 'private' }, 'l1'),
  upload('l1', 'l1', DATA10),
  create('l2', { name: L[1], disk_format: 'qcow2', container_format: 'ovf', tags: ['blue'], color: 'blue', owner: PROJECT_C, visibility: 'shared', min_ram: 512 }, 'l2'),
  upload('l2', 'l2', DATA1000),
  create('l3', { name: L[2], disk_format: 'iso', container_format: 'bare', tags: ['red'], color: 'red', protected: true, visibility: 'public' }, 'l3', C_ADMIN),
  create('l4', { name: L[3], disk_format: 'raw', container_format: 'bare', os_hidden: true, visibility: 'community', owner: PROJECT_D }, 'l4'),
  create('l5', { name: L[4], visibility: 'private', owner: PROJECT_D }, 'l5'),
];

const time = (field: string, op: string, when: string): Step => list(`${field}-${op}`, `${SORTED}&${field}=${op}:${when}`);

const lists: Step[] = [
  list('all', SORTED),
  list('name-exact', `name=${L[0]}`),
  list('name-in-quoted', `name=in:"${L[0]}","${L[1]}"&sort=name:asc`),
  list('status-active', `${SORTED}&status=active`),
  list('status-queued', `${SORTED}&status=queued`),
  list('status-in', `${SORTED}&status=in:active,queued`),
  list('visibility-public', `${SORTED}&visibility=public`),
  list('visibility-private', `${SORTED}&visibility=private`),
  list('visibility-shared', `${SORTED}&visibility=shared`),
  list('visibility-community', `${SORTED}&visibility=community`),
  list('visibility-all', `${SORTED}&visibility=all`),
  list('visibility-community-hidden', `${SORTED}&visibility=community&os_hidden=true`),
  list('owner', `${SORTED}&owner=${PROJECT_C}`),
  list('owner-in', `${SORTED}&owner=in:${PROJECT_C},${PROJECT_D}`),
  list('tag', `${SORTED}&tag=red`),
  list('tags-and', `${SORTED}&tag=red&tag=big`),
  list('tag-unknown', `${SORTED}&tag=nope`),
  list('disk-format', `${SORTED}&disk_format=raw`),
  list('disk-format-in', `${SORTED}&disk_format=in:raw,iso`),
  list('container-format', `${SORTED}&container_format=bare`),
  list('container-format-in', `${SORTED}&container_format=in:ovf,ami`),
  list('size-min', `${SORTED}&size_min=100`),
  list('size-max', `${SORTED}&size_max=100`),
  list('size-exact', `${SORTED}&size_min=10&size_max=10`),
  list('size-max-bad', `${SORTED}&size_max=x`),
  list('size-min-negative', `${SORTED}&size_min=-1`),
  list('protected-true', `${SORTED}&protected=true`),
  list('protected-false', `${SORTED}&protected=false`),
  list('protected-bad', `${SORTED}&protected=maybe`),
  list('os-hidden-true', `${SORTED}&os_hidden=true`),
  list('os-hidden-false', `${SORTED}&os_hidden=false`),
  list('os-hidden-bad', `${SORTED}&os_hidden=maybe`),
  list('member-status-all', `${SORTED}&member_status=all`),
  list('member-status-accepted', `${SORTED}&member_status=accepted`),
  list('member-status-pending', `${SORTED}&member_status=pending`),
  list('member-status-rejected', `${SORTED}&member_status=rejected`),
  list('member-status-bad', `${SORTED}&member_status=bogus`),
  time('created_at', 'gt', '2000-01-01T00:00:00Z'),
  time('created_at', 'gte', '2000-01-01T00:00:00Z'),
  time('created_at', 'lt', '2000-01-01T00:00:00Z'),
  time('created_at', 'lte', '2100-01-01T00:00:00Z'),
  time('created_at', 'eq', '2000-01-01T00:00:00Z'),
  time('created_at', 'neq', '2000-01-01T00:00:00Z'),
  time('updated_at', 'lt', '2100-01-01T00:00:00Z'),
  time('updated_at', 'gt', '2100-01-01T00:00:00Z'),
  time('created_at', 'bogus', '2000-01-01T00:00:00Z'),
  list('created_at-bad-time', `${SORTED}&created_at=gt:notatime`),
  list('created_at-no-operator', `${SORTED}&created_at=2000-01-01T00:00:00Z`),
  list('created_at-date-only', `${SORTED}&created_at=gt:2000-01-01`),
  list('custom-property', `${SORTED}&color=red`),
  list('custom-property-in', `${SORTED}&color=in:red,blue`),
  list('custom-property-unknown', `${SORTED}&nosuch=1`),
  list('id', `id={{l1}}`),
  list('id-in', `${SORTED}&id=in:{{l1}},{{l2}}`),
  list('checksum', `${SORTED}&checksum=${MD5_10}`),
  list('os-hash-value', `${SORTED}&os_hash_value=${SHA512_10}`),
  list('min-ram', `${SORTED}&min_ram=512`),
  list('as-project-c', SORTED, C),
  list('as-project-d', SORTED, D),
  list('as-project-d-community', `${SORTED}&visibility=community`, D),
  list('as-project-c-shared', `${SORTED}&visibility=shared`, C),
  list('as-project-c-private', `${SORTED}&visibility=private`, C),
];

const sorts: Step[] = [
  list('sort-name-no-dir', `${LIST}&sort=name`),
  list('sort-name-desc', `${LIST}&sort=name:desc`),
  list('sort-multi', `${LIST}&sort=disk_format:asc,name:asc`),
  list('sort-size-asc', `${LIST}&sort=size:asc,name:asc`),
  list('sort-size-desc', `${LIST}&sort=size:desc,name:desc`),
  list('sort-min-ram', `${LIST}&sort=min_ram:desc,name:asc`),
  list('sort-status-visibility', `${LIST}&sort=status:asc,visibility:asc,name:asc`),
  list('sort-key-only', `${LIST}&sort_key=name`),
  list('sort-key-dir', `${LIST}&sort_key=name&sort_dir=asc`),
  list('sort-two-keys-one-dir', `${LIST}&sort_key=disk_format&sort_key=name&sort_dir=asc`),
  list('sort-two-keys-two-dirs', `${LIST}&sort_key=disk_format&sort_key=name&sort_dir=desc&sort_dir=asc`),
  list('sort-more-dirs-than-keys', `${LIST}&sort_key=name&sort_dir=asc&sort_dir=desc`),
  list('sort-dir-only', `name=${L[0]}&sort_dir=asc`),
  list('sort-key-bad', `${LIST}&sort_key=bogus`),
  list('sort-dir-bad', `${LIST}&sort_key=name&sort_dir=sideways`),
  list('sort-extra-colon', `${LIST}&sort=name:asc:x`),
  list('sort-empty-key', `${LIST}&sort=:asc`),
  list('sort-duplicate-key', `${LIST}&sort=name:asc,name:desc`),
  list('sort-custom-property', `${LIST}&sort=color:asc`),
  list('sort-tags', `${LIST}&sort=tags:asc`),
  list('sort-dir-with-sort', `${LIST}&sort=name&sort_dir=asc`),
];

const pages: Step[] = [
  { ...list('page-first', `limit=2&${SORTED}`), save: { next1: 'next' } },
  { ...get('list/page-second', '{{next1}}'), save: { next2: 'next' } },
  get('list/page-third', '{{next2}}'),
  list('page-marker', `marker={{l2}}&${SORTED}`),
  list('page-marker-desc', `marker={{l2}}&${LIST}&sort=name:desc`),
  list('page-marker-last', `marker={{l5}}&${SORTED}`),
  list('page-marker-invisible', `marker={{l5}}&${SORTED}`, C),
  list('page-limit-one-desc', `limit=1&${LIST}&sort=name:desc`),
  list('page-limit-float', `limit=1.5&${SORTED}`),
  list('page-limit-empty', `limit=&${SORTED}`),
];

const members: Step[] = [
  get('members/list-empty', '/v2/images/{{l2}}/members', C),
  { case: 'members/add', method: 'POST', path: '/v2/images/{{l2}}/members', headers: { ...JSON_TYPE, ...C }, json: { member: PROJECT_D } },
  { case: 'members/add-duplicate', method: 'POST', path: '/v2/images/{{l2}}/members', headers: { ...JSON_TYPE, ...C }, json: { member: PROJECT_D } },
  { case: 'members/add-missing-image', method: 'POST', path: '/v2/images/{{zero}}/members', headers: JSON_TYPE, json: { member: PROJECT_D } },
  { case: 'members/add-no-member', method: 'POST', path: '/v2/images/{{l2}}/members', headers: { ...JSON_TYPE, ...C }, json: {} },
  { case: 'members/add-private-image', method: 'POST', path: '/v2/images/{{l1}}/members', headers: { ...JSON_TYPE, ...C }, json: { member: PROJECT_D } },
  get('members/list', '/v2/images/{{l2}}/members', C),
  get('members/list-as-member', '/v2/images/{{l2}}/members', D),
  get('members/show-as-member', `/v2/images/{{l2}}/members/${PROJECT_D}`, D),
  get('members/show-unknown', '/v2/images/{{l2}}/members/eeeeeeee000000000000000000000005', C),
  list('member-pending-as-member', `${SORTED}&visibility=shared&member_status=pending`, D),
  list('member-default-as-member-pending', SORTED, D),
  { case: 'members/update-as-owner', method: 'PUT', path: `/v2/images/{{l2}}/members/${PROJECT_D}`, headers: { ...JSON_TYPE, ...C }, json: { status: 'accepted' } },
  { case: 'members/update-bad-status', method: 'PUT', path: `/v2/images/{{l2}}/members/${PROJECT_D}`, headers: { ...JSON_TYPE, ...D }, json: { status: 'bogus' } },
  { case: 'members/update-accept', method: 'PUT', path: `/v2/images/{{l2}}/members/${PROJECT_D}`, headers: { ...JSON_TYPE, ...D }, json: { status: 'accepted' } },
  list('member-accepted-as-member', `${SORTED}&visibility=shared&member_status=accepted`, D),
  list('member-default-as-member-accepted', SORTED, D),
  get('download/as-accepted-member', '/v2/images/{{l2}}/file', D),
  { case: 'members/update-reject', method: 'PUT', path: `/v2/images/{{l2}}/members/${PROJECT_D}`, headers: { ...JSON_TYPE, ...D }, json: { status: 'rejected' } },
  list('member-rejected-as-member', `${SORTED}&visibility=shared&member_status=rejected`, D),
  { case: 'members/method-not-allowed', method: 'PUT', path: '/v2/images/{{l2}}/members', headers: C },
  { case: 'members/delete', method: 'DELETE', path: `/v2/images/{{l2}}/members/${PROJECT_D}`, headers: C },
  { case: 'members/delete-again', method: 'DELETE', path: `/v2/images/{{l2}}/members/${PROJECT_D}`, headers: C },
  get('members/show-after-delete', `/v2/images/{{l2}}/members/${PROJECT_D}`, C),
];

const deletes: Step[] = [
  del('protected', 'l3'),
  patch('unprotect', 'l3', [{ op: 'replace', path: '/protected', value: false }], {}),
  del('public-as-other-project', 'public', D),
  del('private-of-other-project', 'l5', C),
  del('queued', 'empty'),
  get('show/deleted', '/v2/images/{{empty}}'),
  del('again', 'empty'),
  patch('deleted-image', 'empty', [{ op: 'replace', path: '/name', value: 'y' }], {}),
  upload('deleted-image', 'empty', DATA10),
  { case: 'tags/deleted-image', method: 'PUT', path: '/v2/images/{{empty}}/tags/x' },
  get('download/deleted-image', '/v2/images/{{empty}}/file'),
  list('page-marker-deleted', `marker={{empty}}&${SORTED}`),
  action('deactivate-l1', 'l1', 'deactivate'),
  del('deactivated', 'l1'),
  del('json-fault', 'empty', ACCEPT_JSON),
  ...['full', 'withid', 'nameNull', 'octparam', 'publicNoProject', 'owned', 'community', 'public', 'noct', 'reader', 'chunked', 'zeroSize', 'chunkedEmpty', 'p', 'l2', 'l3', 'l4', 'l5'].map((id) =>
    del(`cleanup-${id}`, id),
  ),
  list('after-cleanup', SORTED),
];

// Interoperable import, tasks and stores (both servers: stores local + local2, the three import
// methods; `{{wdurl}}` is the harness's web-download source on an allowed port).
const imp = (name: string, id: string, body: unknown, headers: Record<string, string> = C): Step => ({
  case: `import/${name}`,
  method: 'POST',
  path: `/v2/images/{{${id}}}/import`,
  headers: { ...JSON_TYPE, ...headers },
  json: body,
});
const stage = (name: string, id: string, data: Buffer, headers: Record<string, string> = C): Step => ({
  case: `stage/${name}`,
  method: 'PUT',
  path: `/v2/images/{{${id}}}/stage`,
  headers: { ...OCTET, ...headers },
  raw: data,
});
const storeDel = (name: string, store: string, id: string, headers: Record<string, string> = C_ADMIN): Step => ({
  case: `stores/${name}`,
  method: 'DELETE',
  path: `/v2/stores/${store}/{{${id}}}`,
  headers,
});
/** The import has released the image (transcript.py's import_done). */
const settled = (extra: (j: Record<string, unknown>) => boolean = () => true) => (body: unknown): boolean => {
  if (body === null || typeof body !== 'object') return false;
  const j = body as Record<string, unknown>;
  return ['active', 'killed', 'queued'].includes(String(j.status)) && !j.os_glance_import_task &&
    !j.os_glance_importing_to_stores && extra(j);
};
const GD = { method: { name: 'glance-direct' } };

const imports: Step[] = [
  get('info/import-as-member', '/v2/info/import', C),
  get('info/stores-as-member', '/v2/info/stores', C),
  get('info/stores-detail-as-member', '/v2/info/stores/detail', C),
  get('info/stores-detail-as-project-admin', '/v2/info/stores/detail', C_ADMIN),
  get('info/stores-detail-as-noproject-admin', '/v2/info/stores/detail'),
  get('info/stores-detail-json-fault', '/v2/info/stores/detail', { ...C, ...ACCEPT_JSON }),
  create('import-target', { name: n('import'), disk_format: 'raw', container_format: 'bare' }, 'imp', C),
  imp('missing-image', 'zero', GD),
  imp('other-project', 'imp', GD, D),
  imp('no-method', 'imp', {}),
  imp('method-not-object', 'imp', { method: 'glance-direct' }),
  imp('method-no-name', 'imp', { method: {} }),
  imp('all-stores-not-bool', 'imp', { ...GD, all_stores: 'yes' }),
  imp('must-succeed-not-bool', 'imp', { ...GD, all_stores_must_succeed: 'yes' }),
  imp('copy-image-queued', 'imp', { method: { name: 'copy-image' }, stores: ['local2'] }, C_ADMIN),
  imp('web-download-loopback', 'imp', { method: { name: 'web-download', uri: '{{wdloopback}}' } }),
  imp('not-json', 'imp', 'x'),
  { case: 'import/array-body', method: 'POST', path: '/v2/images/{{imp}}/import', headers: { ...JSON_TYPE, ...C }, raw: '[]' },
  stage('missing-image', 'zero', DATA10),
  stage('other-project', 'imp', DATA10, D),
  stage('wrong-content-type', 'imp', DATA10, { ...C, 'Content-Type': 'text/plain' }),
  stage('ok', 'imp', DATA1000),
  get('show/after-stage', '/v2/images/{{imp}}', C),
  upload('after-stage', 'imp', DATA10, C),
  imp('stores-not-list', 'imp', { ...GD, stores: 'local' }),
  imp('unknown-store', 'imp', { ...GD, stores: ['nosuchstore'] }),
  imp('all-stores-with-stores', 'imp', { ...GD, all_stores: true, stores: ['local'] }),
  imp('stores-with-header', 'imp', { ...GD, stores: ['local'] }, { ...C, 'X-Image-Meta-Store': 'local2' }),
  imp('glance-direct-to-local2', 'imp', { ...GD, stores: ['local2'] }),
  { ...get('show/after-glance-direct', '/v2/images/{{imp}}', C), until: settled() },
  imp('again-active', 'imp', GD),
  stage('active', 'imp', DATA10),
  { ...get('tasks/of-image', '/v2/images/{{imp}}/tasks', C_ADMIN), save: { task: 'tasks.0.id' } },
  get('tasks/of-image-as-member', '/v2/images/{{imp}}/tasks', C),
  get('tasks/of-image-other-project', '/v2/images/{{imp}}/tasks', D),
  get('tasks/of-missing-image', '/v2/images/{{zero}}/tasks', C_ADMIN),
  get('tasks/show', '/v2/tasks/{{task}}', C_ADMIN),
  get('tasks/show-as-member', '/v2/tasks/{{task}}', C),
  get('tasks/show-missing', '/v2/tasks/{{zero}}', C_ADMIN),
  get('tasks/list-as-member', '/v2/tasks', C),
  get('tasks/list-latest', '/v2/tasks?limit=1', C_ADMIN),
  get('tasks/list-bad-status', '/v2/tasks?status=bogus', C_ADMIN),
  get('tasks/list-bad-sort-dir', '/v2/tasks?sort_dir=sideways', C_ADMIN),
  get('tasks/list-bad-sort-key', '/v2/tasks?sort_key=bogus', C_ADMIN),
  get('tasks/list-bad-limit', '/v2/tasks?limit=-1', C_ADMIN),
  get('tasks/list-bad-marker', '/v2/tasks?marker={{zero}}', C_ADMIN),
  { case: 'tasks/create', method: 'POST', path: '/v2/tasks', headers: { ...JSON_TYPE, ...C_ADMIN }, json: { type: 'import', input: {} } },
  { case: 'tasks/delete', method: 'DELETE', path: '/v2/tasks/{{task}}', headers: C_ADMIN },
  imp('copy-image-to-present-store', 'imp', { method: { name: 'copy-image' }, stores: ['local2'] }, C_ADMIN),
  imp('copy-image', 'imp', { method: { name: 'copy-image' }, stores: ['local'] }, C_ADMIN),
  { ...get('show/after-copy-image', '/v2/images/{{imp}}', C), until: settled((j) => String(j.stores).split(',').length === 2) },
  imp('copy-image-all-stores-present', 'imp', { method: { name: 'copy-image' }, all_stores: true }, C_ADMIN),
  storeDel('unknown-store', 'nosuchstore', 'imp'),
  storeDel('missing-image', 'local', 'zero'),
  storeDel('other-project', 'local', 'imp', D),
  storeDel('ok', 'local', 'imp'),
  get('show/after-store-delete', '/v2/images/{{imp}}', C),
  storeDel('not-in-store', 'local', 'imp'),
  storeDel('last-store-as-reader', 'local2', 'imp', C_READER),
  storeDel('last-store', 'local2', 'imp'),
  storeDel('last-store-json-fault', 'local2', 'imp', { ...C_ADMIN, ...ACCEPT_JSON }),
  { case: 'stores/get', method: 'GET', path: '/v2/stores/local2/{{imp}}', headers: C_ADMIN },
  { case: 'stores/delete-store-only', method: 'DELETE', path: '/v2/stores/local2', headers: C_ADMIN },
  create('upload-store-target', { name: n('upload-store'), disk_format: 'raw', container_format: 'bare' }, 'ups', C),
  upload('unknown-store', 'ups', DATA10, { ...C, 'X-Image-Meta-Store': 'nosuchstore' }),
  upload('to-local2', 'ups', DATA10, { ...C, 'X-Image-Meta-Store': 'local2' }),
  get('show/after-upload-to-local2', '/v2/images/{{ups}}', C),
  create('web-download-target', { name: n('web-download'), disk_format: 'raw', container_format: 'bare' }, 'wd', C),
  storeDel('queued-image', 'local', 'wd'),
  imp('web-download-both-stores', 'wd', { method: { name: 'web-download', uri: '{{wdurl}}' }, stores: ['local', 'local2'] }),
  { ...get('show/after-web-download', '/v2/images/{{wd}}', C), until: settled() },
  create('web-download-404-target', { name: n('web-download-404'), disk_format: 'raw', container_format: 'bare' }, 'wd404', C),
  imp('web-download-404', 'wd404', { method: { name: 'web-download', uri: '{{wdmissing}}' } }),
  { ...get('show/after-web-download-404', '/v2/images/{{wd404}}', C), until: settled() },
  ...['imp', 'ups', 'wd', 'wd404'].map((id) => del(`cleanup-${id}`, id, C)),
];

export const SCENARIO: readonly Step[] = [
  ...discovery,
  ...creates,
  ...shows,
  ...routing,
  ...faults,
  ...uploads,
  ...ranges,
  ...deactivation,
  ...tags,
  ...patches,
  ...listSetup,
  ...lists,
  ...sorts,
  ...pages,
  ...members,
  ...deletes,
  ...imports,
];
