/** Routing and error conventions: fault formats, 404/405, request ids, bad bodies. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
before(async () => {
  iris = await startIris();
  base = iris.baseUrl;
});
after(() => iris.stop());

async function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${base}${path}`, { method, headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

test('fault body follows Accept: none → text/plain, */* → HTML, JSON when asked', async () => {
  const id = '00000000-0000-0000-0000-000000000000';
  const plain = await raw('GET', `/v2/images/${id}`, { Accept: '' });
  assert.equal(plain.status, 404);
  assert.match(plain.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(plain.text, `404 Not Found\n\nNo image found with ID ${id}\n\n   `);
  const html = await raw('GET', `/v2/images/${id}`, { Accept: '*/*' });
  assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(html.text, /<title>404 Not Found<\/title>/);
  const js = await raw('GET', `/v2/images/${id}`, { Accept: 'application/json' });
  assert.equal(js.headers.get('content-type'), 'application/json');
  const body = JSON.parse(js.text);
  assert.equal(body.code, '404 Not Found');
  assert.equal(body.title, 'Not Found');
  assert.match(body.message, /No image found with ID/);
});

test('405 with Allow on known paths; 404 for unknown /v2 paths; version list elsewhere', async () => {
  const put = await raw('PUT', '/v2/images/abc', { 'Content-Type': 'application/json' }, '{}');
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('allow'), 'GET, PATCH, DELETE');
  const del = await raw('DELETE', '/v2/images');
  assert.equal(del.status, 405);
  assert.equal(del.headers.get('allow'), 'GET, POST');
  const unknown = await raw('GET', '/v2/nonexistent');
  assert.equal(unknown.status, 404);
  assert.ok(unknown.headers.get('x-openstack-request-id'));
  assert.equal((await raw('GET', '/foo')).status, 300);
});

test('create errors: malformed JSON, non-object bodies, read-only, reserved, schema', async () => {
  const cases: [string, number][] = [
    ['{"name": "x",', 400],
    ['[]', 400],
    ['"a string"', 400],
    ['', 400],
    ['{"name": "x", "checksum": "abc"}', 403],
    ['{"name": "x", "self": "/x"}', 403],
    ['{"name": "x", "os_glance_foo": "bar"}', 403],
    ['{"name": "x", "location": "file:///etc/passwd"}', 403],
    ['{"name": "x", "disk_format": "floppy"}', 400],
    ['{"name": "x", "visibility": "galactic"}', 400],
    ['{"name": "x", "hw_cpu": 4}', 400],
    ['{"id": "not-a-uuid"}', 400],
  ];
  for (const [body, status] of cases) {
    const r = await json('POST', `${base}/v2/images`, body);
    assert.equal(r.status, status, `${body} → ${describe(r)}`);
  }
});

test('create ignores the request Content-Type (as Glance)', async () => {
  const r = await json('POST', `${base}/v2/images`, '{"name": "x"}', { 'Content-Type': 'text/plain' });
  assert.equal(r.status, 201, describe(r));
});

test('identity headers: project ownership, publicize needs admin, 404 not 403 for hidden images', async () => {
  const a = { 'X-Project-Id': 'proj-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };
  const b = { 'X-Project-Id': 'proj-b', 'X-Roles': 'member,reader', 'X-User-Id': 'user-b' };
  const created = await json('POST', `${base}/v2/images`, { name: 'a-private', visibility: 'private' }, a);
  assert.equal(created.status, 201, describe(created));
  assert.equal(created.body.owner, 'proj-a');
  const id = created.body.id;
  assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, b)).status, 404);
  assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, a)).status, 200);
  assert.equal((await json('POST', `${base}/v2/images`, { name: 'x', owner: 'proj-b' }, a)).status, 403);
  assert.equal((await json('POST', `${base}/v2/images`, { name: 'x', visibility: 'public' }, a)).status, 403);
  const pub = await json('POST', `${base}/v2/images`, { name: 'pub', visibility: 'public' }, { ...a, 'X-Roles': 'admin' });
  assert.equal(pub.status, 201, describe(pub));
  const steal = await json('PATCH', `${base}/v2/images/${pub.body.id}`, [{ op: 'replace', path: '/name', value: 's' }], {
    ...b,
    'Content-Type': 'application/openstack-images-v2.1-json-patch',
  });
  assert.equal(steal.status, 403, 'a visible image of another project cannot be changed');
  assert.equal((await json('DELETE', `${base}/v2/images/${pub.body.id}`, undefined, b)).status, 403);
  const bad = await json('GET', `${base}/v2/images/${id}`, undefined, { ...a, 'X-Identity-Status': 'Invalid' });
  assert.equal(bad.status, 401);
});
