/** `client.members`: sharing an image with other projects, and answering a share. */
import type { Transport } from './http-transport.js';
import type { ImageMember } from './image-types.js';

export type MemberStatus = ImageMember['status'];

export interface MembersApi {
  /**
   * Shares the image with a project (membership `pending` until that project accepts).
   * The image must have visibility `shared`.
   *
   * @example await client.members.add(imageId, 'b7a3…project-id');
   */
  add(imageId: string, memberId: string, options?: { signal?: AbortSignal }): Promise<ImageMember>;
  /**
   * Memberships of an image (the owner sees all; a member sees its own).
   *
   * @example const members = await client.members.list(imageId);
   */
  list(imageId: string, options?: { signal?: AbortSignal }): Promise<ImageMember[]>;
  /**
   * One membership.
   *
   * @example const m = await client.members.get(imageId, projectId);
   */
  get(imageId: string, memberId: string, options?: { signal?: AbortSignal }): Promise<ImageMember>;
  /**
   * The member's answer: `accepted` (the image shows up in its list), `rejected` or `pending`.
   *
   * @example await client.members.update(imageId, projectId, 'accepted');
   */
  update(imageId: string, memberId: string, status: MemberStatus, options?: { signal?: AbortSignal }): Promise<ImageMember>;
  /**
   * Stops sharing with the project.
   *
   * @example await client.members.delete(imageId, projectId);
   */
  delete(imageId: string, memberId: string, options?: { signal?: AbortSignal }): Promise<void>;
}

function membersPath(imageId: string, memberId?: string): string {
  const base = `/v2/images/${encodeURIComponent(imageId)}/members`;
  return memberId === undefined ? base : `${base}/${encodeURIComponent(memberId)}`;
}

export function createMembersApi(transport: Transport): MembersApi {
  return {
    add: (imageId, memberId, options = {}) =>
      transport.json<ImageMember>({
        method: 'POST',
        path: membersPath(imageId),
        json: { member: memberId },
        idempotent: false,
        signal: options.signal,
      }),

    async list(imageId, options = {}) {
      const doc = await transport.json<{ members: ImageMember[] }>({
        method: 'GET',
        path: membersPath(imageId),
        idempotent: true,
        signal: options.signal,
      });
      return doc.members;
    },

    get: (imageId, memberId, options = {}) =>
      transport.json<ImageMember>({ method: 'GET', path: membersPath(imageId, memberId), idempotent: true, signal: options.signal }),

    // Not retried: retries stay with calls that are idempotent by definition (GET, HEAD, DELETE,
    // tag PUT); a status answer is cheap to send again by hand.
    update: (imageId, memberId, status, options = {}) =>
      transport.json<ImageMember>({
        method: 'PUT',
        path: membersPath(imageId, memberId),
        json: { status },
        idempotent: false,
        signal: options.signal,
      }),

    async delete(imageId, memberId, options = {}) {
      await transport.discard({ method: 'DELETE', path: membersPath(imageId, memberId), idempotent: true, signal: options.signal });
    },
  };
}
