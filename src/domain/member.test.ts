import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Invalid } from './errors.js';
import { newImageMember, parseAddMemberBody, parseMemberStatusBody, withStatus } from './member.js';

// Messages were observed on the Glance 25.1.0 peer (POST and PUT on /v2/images/{id}/members).

const T0 = new Date('2024-05-01T10:00:00Z');
const T1 = new Date('2024-05-01T11:00:00Z');

function refused(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof Invalid && e.message === message);
}

test('a new membership is pending, created and updated now', () => {
  assert.deepEqual(newImageMember('img', 'project-b', T0), {
    image_id: 'img',
    member_id: 'project-b',
    status: 'pending',
    created_at: T0,
    updated_at: T0,
  });
  // Non-ASCII within the BMP is fine; beyond it is what Glance refuses.
  assert.equal(newImageMember('img', 'été', T0).member_id, 'été');
  refused(() => newImageMember('img', 'p-\u{1F600}', T0), "Member can't contain 4 byte unicode characters.");
});

test('withStatus: the three statuses, unchanged when equal, Glance message otherwise', () => {
  const m = newImageMember('img', 'project-b', T0);
  assert.deepEqual(withStatus(m, 'accepted', T1), { ...m, status: 'accepted', updated_at: T1 });
  assert.deepEqual(withStatus(m, 'rejected', T1).status, 'rejected');
  assert.equal(withStatus(m, 'pending', T1), m, 'same status: nothing to write, updated_at kept');
  for (const bad of ['bogus', 'ACCEPTED', null, 5, ['accepted'], { status: 'accepted' }]) {
    refused(() => withStatus(m, bad, T1), 'Status must be "pending", "accepted" or "rejected".');
  }
});

test('parseAddMemberBody: Glance deserializer messages', () => {
  assert.equal(parseAddMemberBody({ member: 'project-b', extra: 1 }), 'project-b');
  refused(() => parseAddMemberBody(undefined), 'Body expected in request.');
  for (const body of [null, 'x', 5, true]) refused(() => parseAddMemberBody(body), 'Unexpected body type. Expected list/dict.');
  refused(() => parseAddMemberBody([]), 'Expected a member in the form: {"member": "image_id"}');
  refused(() => parseAddMemberBody({}), 'Member to be added not specified');
  for (const member of ['', null, 0, false, [], {}]) {
    refused(() => parseAddMemberBody({ member }), "Member can't be empty");
  }
  // Glance stores numbers as text and answers 500 for lists and objects; Iris wants a string.
  for (const member of [5, true, ['a'], { a: 1 }]) {
    refused(() => parseAddMemberBody({ member }), 'Expected a member in the form: {"member": "image_id"}');
  }
});

test('parseMemberStatusBody: the raw status, checked later', () => {
  assert.equal(parseMemberStatusBody({ status: 'accepted' }), 'accepted');
  assert.equal(parseMemberStatusBody({ status: 'bogus' }), 'bogus');
  assert.equal(parseMemberStatusBody({ status: null }), null);
  refused(() => parseMemberStatusBody(undefined), 'Body expected in request.');
  refused(() => parseMemberStatusBody('x'), 'Unexpected body type. Expected list/dict.');
  refused(() => parseMemberStatusBody(['status']), 'Expected a status in the form: {"status": "status"}');
  refused(() => parseMemberStatusBody({}), 'Status not specified');
});
