/**
 * The ImageMember entity: one project an image is shared with, and that project's answer
 * (pending until it accepts or rejects). Field names are Glance's wire names.
 *
 * Also the reading of the two member request bodies, with the messages of Glance's
 * image_members RequestDeserializer.
 */
import { Invalid } from './errors.js';
import type { MemberStatus } from './ports.js';

export type { MemberStatus };

export const MEMBER_STATUSES: readonly MemberStatus[] = ['pending', 'accepted', 'rejected'];

export interface ImageMember {
  readonly image_id: string;
  /** The project the image is shared with (Glance's `member` column). */
  readonly member_id: string;
  readonly status: MemberStatus;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export function isMemberStatus(value: unknown): value is MemberStatus {
  return typeof value === 'string' && (MEMBER_STATUSES as readonly string[]).includes(value);
}

// Characters outside the Basic Multilingual Plane: 4 bytes in UTF-8, which MySQL's utf8
// columns cannot hold, so Glance refuses them in every value it stores.
const FOUR_BYTE_CHARACTER = /[\u{10000}-\u{10FFFF}]/u;

/**
 * A new membership, pending as Glance's ImageMemberFactory makes it.
 * @throws Invalid when the member id has a 4-byte character (Glance's no_4byte_params).
 */
export function newImageMember(imageId: string, memberId: string, now: Date): ImageMember {
  if (FOUR_BYTE_CHARACTER.test(memberId)) {
    throw new Invalid("Member can't contain 4 byte unicode characters.");
  }
  return { image_id: imageId, member_id: memberId, status: 'pending', created_at: now, updated_at: now };
}

/**
 * The membership with `status`. Unchanged (same object, same updated_at) when the status is
 * the current one: Glance's database layer writes nothing then, so updated_at stays.
 * @throws Invalid with Glance's text when `status` is not a member status.
 */
export function withStatus(member: ImageMember, status: unknown, now: Date): ImageMember {
  if (!isMemberStatus(status)) throw new Invalid('Status must be "pending", "accepted" or "rejected".');
  if (status === member.status) return member;
  return { ...member, status, updated_at: now };
}

/** Python's truth test on a JSON value: Glance checks `if not member_id`. */
function isPythonFalsy(value: unknown): boolean {
  if (value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value as object).length === 0;
}

/** Glance's JSON deserializer takes only objects and arrays as bodies. */
function requireListOrDict(body: unknown): void {
  if (body === undefined) throw new Invalid('Body expected in request.');
  if (typeof body !== 'object' || body === null) throw new Invalid('Unexpected body type. Expected list/dict.');
}

/**
 * The member id of an add-member body `{"member": "<project>"}`.
 *
 * Glance stores whatever JSON value it is given (a number comes back as a number once and
 * as a string afterwards; an object or array is a 500). Iris takes only strings.
 * @throws Invalid with Glance's messages for a missing body, a non-object, a missing or
 *   empty member; "Expected a member in the form…" for an array or a non-string member.
 */
export function parseAddMemberBody(body: unknown): string {
  requireListOrDict(body);
  const form = new Invalid('Expected a member in the form: {"member": "image_id"}');
  if (Array.isArray(body)) throw form;
  const doc = body as Record<string, unknown>;
  if (!Object.hasOwn(doc, 'member')) throw new Invalid('Member to be added not specified');
  const member = doc.member;
  if (isPythonFalsy(member)) throw new Invalid("Member can't be empty");
  if (typeof member !== 'string') throw form;
  return member;
}

/**
 * The raw `status` of an update body `{"status": …}`; its value is checked later, after the
 * image and membership lookups, as Glance does (`withStatus`).
 * @throws Invalid with Glance's messages for a missing body, a non-object, an array or a
 *   missing status.
 */
export function parseMemberStatusBody(body: unknown): unknown {
  requireListOrDict(body);
  if (Array.isArray(body)) throw new Invalid('Expected a status in the form: {"status": "status"}');
  const doc = body as Record<string, unknown>;
  if (!Object.hasOwn(doc, 'status')) throw new Invalid('Status not specified');
  return doc.status;
}
