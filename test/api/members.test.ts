/**
 * The Members API over real HTTP, with header identities: owner project A, consumer B, and C,
 * who is neither. Statuses and messages are the peer Glance 25.1.0's (legacy defaults).
 */
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, getBytes, json, patch, putBytes, type HttpAnswer } from '../helpers/http.js';

let iris: IrisProcess;
let base: string;
before(async () => {
  // A small quota, so that the last test can reach it; the others stay below it.
  iris = await startIris({ env: { IRIS__DEFAULT__IMAGE_MEMBER_QUOTA: '2' } });
  base = iris.baseUrl;
});
after(() => iris.stop());

const identity = (project: string) => ({ 'X-Project-Id': project, 'X-Roles': 'member,reader', 'X-User-Id': `user-${project}` });
const A = identity('project-a');
const B = identity('project-b');
const C = identity('project-c');
const ADMIN = { 'X-Project-Id': 'project-admin', 'X-Roles': 'admin', 'X-User-Id': 'admin' };

function expectFault(r: HttpAnswer, status: number, message: string): void {
  assert.equal(r.status, status, describe(r));
  assert.equal(r.body.message, `${message}<br /><br />\n\n\n`, describe(r));
}

async function createImage(visibility: string, headers: Record<string, string> = A): Promise<string> {
  const r = await json('POST', `${base}/v2/images`, { name: 'shared-img', disk_format: 'raw', container_format: 'bare', visibility }, headers);
  assert.equal(r.status, 201, describe(r));
  return r.body.id as string;
}

async function setVisibility(id: string, visibility: string, headers: Record<string, string> = A): Promise<void> {
  const r = await patch(`${base}/v2/images/${id}`, [{ op: 'replace', path: '/visibility', value: visibility }], headers);
  assert.equal(r.status, 200, describe(r));
}

const members = (id: string) => `${base}/v2/images/${id}/members`;
const member = (id: string, project: string) => `${base}/v2/images/${id}/members/${project}`;
const listIds = async (query: string, headers: Record<string, string>) => {
  const r = await json('GET', `${base}/v2/images${query}`, undefined, headers);
  assert.equal(r.status, 200, describe(r));
  return (r.body.images as { id: string }[]).map((i) => i.id);
};

test('the sharing flow: add, accept, see, download, stop sharing', async () => {
  const id = await createImage('private');
  const data = randomBytes(4096);
  assert.equal((await putBytes(`${base}/v2/images/${id}/file`, data, A)).status, 204);

  // Members only on shared images.
  expectFault(await json('POST', members(id), { member: 'project-b' }, A), 403, `Not allowed to create members for image ${id}.`);
  await setVisibility(id, 'shared');

  const added = await json('POST', members(id), { member: 'project-b' }, A);
  assert.equal(added.status, 200, describe(added));
  assert.deepEqual(Object.keys(added.body), ['member_id', 'image_id', 'status', 'created_at', 'updated_at', 'schema']);
  assert.equal(added.body.member_id, 'project-b');
  assert.equal(added.body.image_id, id);
  assert.equal(added.body.status, 'pending');
  assert.match(added.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(added.body.updated_at, added.body.created_at);
  assert.equal(added.body.schema, '/v2/schemas/member');

  expectFault(
    await json('POST', members(id), { member: 'project-b' }, A),
    409,
    `Member project-b is duplicated for image ${id}`,
  );

  // Pending: visible by id, listed only when asked for pending memberships.
  assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, B)).status, 200);
  assert.ok(!(await listIds('', B)).includes(id));
  assert.ok(!(await listIds('?visibility=shared', B)).includes(id));
  assert.ok((await listIds('?visibility=shared&member_status=pending', B)).includes(id));
  assert.ok((await listIds('?member_status=pending', B)).includes(id));

  // Only the member answers for itself.
  expectFault(
    await json('PUT', member(id, 'project-b'), { status: 'accepted' }, A),
    403,
    `Not allowed to update members for image ${id}.`,
  );
  expectFault(
    await json('PUT', member(id, 'project-b'), { status: 'bogus' }, B),
    400,
    'Incorrect request: Status must be "pending", "accepted" or "rejected".',
  );
  const accepted = await json('PUT', member(id, 'project-b'), { status: 'accepted' }, B);
  assert.equal(accepted.status, 200, describe(accepted));
  assert.equal(accepted.body.status, 'accepted');
  assert.equal(accepted.body.created_at, added.body.created_at);

  assert.ok((await listIds('', B)).includes(id));
  assert.ok((await listIds('?visibility=shared', B)).includes(id));
  const download = await getBytes(`${base}/v2/images/${id}/file`, B);
  assert.equal(download.status, 200);
  assert.deepEqual(download.bytes, data);

  // A member may look but not touch.
  expectFault(await patch(`${base}/v2/images/${id}`, [{ op: 'replace', path: '/name', value: 'x' }], B), 403, 'You do not own this image');
  expectFault(await json('POST', members(id), { member: 'project-c' }, B), 403, `Not allowed to create members for image ${id}.`);
  expectFault(await json('DELETE', member(id, 'project-b'), undefined, B), 403, `Not allowed to delete members for image ${id}.`);

  // C sees neither the image nor its members.
  expectFault(await json('GET', `${base}/v2/images/${id}`, undefined, C), 404, `No image found with ID ${id}`);
  expectFault(await json('GET', members(id), undefined, C), 404, `Image ${id} not found.`);
  expectFault(await json('GET', member(id, 'project-b'), undefined, C), 404, `Image ${id} not found.`);
  expectFault(await json('POST', members(id), { member: 'project-c' }, C), 404, `Image ${id} not found.`);

  // Stop sharing: B loses the image.
  const removed = await json('DELETE', member(id, 'project-b'), undefined, A);
  assert.equal(removed.status, 204, describe(removed));
  assert.equal(removed.text, '');
  expectFault(await json('GET', `${base}/v2/images/${id}`, undefined, B), 404, `No image found with ID ${id}`);
  assert.equal((await getBytes(`${base}/v2/images/${id}/file`, B)).status, 404);
  assert.ok(!(await listIds('?member_status=all&visibility=all', B)).includes(id));
  expectFault(
    await json('DELETE', member(id, 'project-b'), undefined, A),
    404,
    `project-b not found in the member list of the image ${id}.`,
  );

  // Shared again later: pending anew, with the first membership's created_at (Glance reuses the row).
  const again = await json('POST', members(id), { member: 'project-b' }, A);
  assert.equal(again.status, 200, describe(again));
  assert.equal(again.body.status, 'pending');
  assert.equal(again.body.created_at, added.body.created_at);
});

test('who sees which memberships: owner and admin all, a member only its own', async () => {
  const id = await createImage('shared');
  for (const project of ['project-b', 'project-c']) {
    assert.equal((await json('POST', members(id), { member: project }, A)).status, 200);
  }
  const ids = (r: HttpAnswer) => (r.body.members as { member_id: string }[]).map((m) => m.member_id);

  const owner = await json('GET', members(id), undefined, A);
  assert.equal(owner.status, 200, describe(owner));
  assert.deepEqual(Object.keys(owner.body), ['members', 'schema']);
  assert.equal(owner.body.schema, '/v2/schemas/members');
  assert.deepEqual(ids(owner), ['project-b', 'project-c']);
  assert.deepEqual(ids(await json('GET', members(id), undefined, ADMIN)), ['project-b', 'project-c']);
  assert.deepEqual(ids(await json('GET', members(id))), ['project-b', 'project-c'], 'no headers: admin');
  assert.deepEqual(ids(await json('GET', members(id), undefined, B)), ['project-b']);

  const own = await json('GET', member(id, 'project-b'), undefined, B);
  assert.equal(own.status, 200, describe(own));
  assert.equal(own.body.member_id, 'project-b');
  expectFault(
    await json('GET', member(id, 'project-c'), undefined, B),
    404,
    `project-c not found in the member list of the image ${id}.`,
  );
  // Nor may B answer for C.
  expectFault(
    await json('PUT', member(id, 'project-c'), { status: 'accepted' }, B),
    404,
    `project-c not found in the member list of the image ${id}.`,
  );
  // An admin may answer for a member.
  const byAdmin = await json('PUT', member(id, 'project-c'), { status: 'rejected' }, ADMIN);
  assert.equal(byAdmin.status, 200, describe(byAdmin));
  assert.equal(byAdmin.body.status, 'rejected');
  // A rejected member still sees the image by id, but not in its lists.
  assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, C)).status, 200);
  assert.ok(!(await listIds('', C)).includes(id));
  assert.ok((await listIds('?member_status=rejected', C)).includes(id));
});

test('memberships grant nothing while the image is not shared', async () => {
  const id = await createImage('shared');
  assert.equal((await json('POST', members(id), { member: 'project-b' }, A)).status, 200);
  assert.equal((await json('PUT', member(id, 'project-b'), { status: 'accepted' }, B)).status, 200);

  await setVisibility(id, 'private');
  expectFault(await json('GET', `${base}/v2/images/${id}`, undefined, B), 404, `No image found with ID ${id}`);
  assert.equal((await getBytes(`${base}/v2/images/${id}/file`, B)).status, 404);
  assert.ok(!(await listIds('?member_status=all&visibility=all', B)).includes(id));
  expectFault(await json('GET', members(id), undefined, B), 404, `Image ${id} not found.`);
  expectFault(await json('GET', member(id, 'project-b'), undefined, B), 404, `Image ${id} not found.`);
  expectFault(await json('PUT', member(id, 'project-b'), { status: 'rejected' }, B), 404, `Image ${id} not found.`);
  // The owner cannot manage members of a private image either.
  expectFault(
    await json('GET', members(id), undefined, A),
    403,
    `Not allowed to list members for image ${id}: Only shared images have members.`,
  );
  expectFault(await json('GET', member(id, 'project-b'), undefined, A), 404, 'Only shared images have members.');
  expectFault(await json('DELETE', member(id, 'project-b'), undefined, A), 403, `Not allowed to delete members for image ${id}.`);

  // Community: everyone sees the image, the membership shows nowhere.
  await setVisibility(id, 'community');
  assert.equal((await json('GET', `${base}/v2/images/${id}`, undefined, B)).status, 200);
  expectFault(
    await json('GET', members(id), undefined, B),
    403,
    `Not allowed to list members for image ${id}: Only shared images have members.`,
  );
  expectFault(await json('GET', member(id, 'project-b'), undefined, B), 404, 'Only shared images have members.');

  // Shared again: the kept membership counts again, as in Glance.
  await setVisibility(id, 'shared');
  const back = await json('GET', member(id, 'project-b'), undefined, B);
  assert.equal(back.status, 200, describe(back));
  assert.equal(back.body.status, 'accepted');
});

test('request bodies are read before the image is looked up, with Glance messages', async () => {
  const id = await createImage('shared');
  const missing = '00000000-0000-0000-0000-000000000000';
  const cases: [string, string, string][] = [
    ['POST', '', 'Body expected in request.'],
    ['POST', '{"member":', 'Malformed JSON in request body.'],
    ['POST', '"x"', 'Unexpected body type. Expected list/dict.'],
    ['POST', '[]', 'Expected a member in the form: {"member": "image_id"}'],
    ['POST', '{"member": 5}', 'Expected a member in the form: {"member": "image_id"}'],
    ['POST', '{}', 'Member to be added not specified'],
    ['POST', '{"member": ""}', "Member can't be empty"],
    ['POST', '{"member": null}', "Member can't be empty"],
    ['PUT', '[]', 'Expected a status in the form: {"status": "status"}'],
    ['PUT', '{}', 'Status not specified'],
  ];
  for (const [method, body, message] of cases) {
    for (const image of [id, missing]) {
      const url = method === 'POST' ? members(image) : member(image, 'project-b');
      expectFault(await json(method, url, body, A), 400, message);
    }
  }
  expectFault(await json('POST', members(missing), { member: 'project-b' }, A), 404, `Image ${missing} not found.`);
  expectFault(await json('POST', members(id), { member: 'project-\u{1F600}' }, A), 400, "Member can't contain 4 byte unicode characters.");
  // Plain-text fault page without Accept, as webob renders it.
  const plain = await fetch(members(missing), { method: 'POST', headers: { ...A, Accept: '', 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(await plain.text(), '400 Bad Request\n\nMember to be added not specified\n\n   ');
});

test('405 with Allow on the member paths', async () => {
  const id = await createImage('shared');
  const list = await fetch(members(id), { method: 'PATCH' });
  assert.equal(list.status, 405);
  assert.equal(list.headers.get('allow'), 'GET, POST');
  const one = await fetch(member(id, 'project-b'), { method: 'POST' });
  assert.equal(one.status, 405);
  assert.equal(one.headers.get('allow'), 'GET, PUT, DELETE');
});

test('image_member_quota: one member more than the quota is 413, even for a duplicate', async () => {
  const id = await createImage('shared');
  assert.equal((await json('POST', members(id), { member: 'project-b' }, A)).status, 200);
  assert.equal((await json('POST', members(id), { member: 'project-c' }, A)).status, 200);
  const message =
    `Image member limit exceeded for image ${id}: The limit has been exceeded on the number of allowed ` +
    'image members for this image. Attempted: 3, Maximum: 2:';
  expectFault(await json('POST', members(id), { member: 'project-d' }, A), 413, message);
  // Glance counts before it looks for duplicates.
  expectFault(await json('POST', members(id), { member: 'project-b' }, A), 413, message);
  // Removing one makes room again.
  assert.equal((await json('DELETE', member(id, 'project-c'), undefined, A)).status, 204);
  assert.equal((await json('POST', members(id), { member: 'project-d' }, A)).status, 200);
});
