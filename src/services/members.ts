/**
 * Image member use cases: share an image with a project, list and show memberships, let the
 * member accept or reject, stop sharing. Orchestration over the ports, in the order of
 * Glance's ImageMembersController, whose messages each step's errors carry: the body is read
 * first, then the image is looked up (NotFound when the caller cannot see it), then the
 * image must be shared and the caller allowed, then the membership is looked up.
 */
import type { RequestContext } from '../domain/context.js';
import { Forbidden, Invalid, NotFound, TooLarge } from '../domain/errors.js';
import type { Image } from '../domain/image.js';
import {
  newImageMember,
  parseAddMemberBody,
  parseMemberStatusBody,
  withStatus,
  type ImageMember,
} from '../domain/member.js';
import type { MemberAction, Policy } from '../domain/policy.js';
import type { Clock, MemberRepository, Notifier } from '../domain/ports.js';
import { memberPayload } from '../notify/event-payloads.js';
import type { ImageService } from './images.js';

export interface MemberServiceDeps {
  readonly members: MemberRepository;
  readonly policy: Policy;
  readonly clock: Clock;
  /** image.member.create / update / delete, after each change is stored. */
  readonly notifier: Notifier;
  /** Image lookups go through findVisible, so an image the caller cannot see is NotFound. */
  readonly imageService: Pick<ImageService, 'findVisible'>;
  /** Members per image; negative = unlimited (Glance's image_member_quota). */
  readonly quota: number;
}

export type MemberService = ReturnType<typeof createMemberService>;

export function createMemberService(deps: MemberServiceDeps) {
  const { members, policy, clock } = deps;

  /** The image if the caller can see it; NotFound with the members API's own wording. */
  function findImage(ctx: RequestContext, imageId: string): Promise<Image> {
    return deps.imageService.findVisible(ctx, imageId, `Image ${imageId} not found.`);
  }

  /**
   * Only shared images have members, then the caller must be allowed. Glance raises both as
   * Forbidden and the controller replaces the reason with its `refusal` for the action.
   */
  function authorize(ctx: RequestContext, image: Image, action: MemberAction, refusal: string): void {
    try {
      requireShared(image);
      policy.enforceMember(ctx, action, image);
    } catch (e) {
      if (e instanceof Forbidden) throw new Forbidden(refusal, { cause: e });
      throw e;
    }
  }

  /** The membership, if it exists and the caller may see it. */
  async function findMember(ctx: RequestContext, image: Image, memberId: string): Promise<ImageMember> {
    const member = policy.canSeeMember(ctx, image, memberId) ? await members.get(image.id, memberId) : null;
    if (member === null) throw new NotFound(`${memberId} not found in the member list of the image ${image.id}.`);
    return member;
  }

  return {
    /**
     * Shares the image with the project named in `body` (`{"member": …}`): a pending
     * membership. Owner or admin, shared images only.
     * @throws Invalid, NotFound, Forbidden, TooLarge (image_member_quota), Conflict (duplicate).
     */
    async add(ctx: RequestContext, imageId: string, body: unknown): Promise<ImageMember> {
      const memberId = parseAddMemberBody(body);
      const image = await findImage(ctx, imageId);
      authorize(ctx, image, 'add_member', `Not allowed to create members for image ${imageId}.`);
      // Glance counts before it looks for a duplicate: a full image answers 413 even then.
      if (deps.quota >= 0) {
        const attempted = (await members.count(image.id)) + 1;
        if (attempted > deps.quota) {
          throw new TooLarge(
            `Image member limit exceeded for image ${imageId}: The limit has been exceeded on the number of ` +
              `allowed image members for this image. Attempted: ${attempted}, Maximum: ${deps.quota}:`,
          );
        }
      }
      const added = await members.add(newImageMember(image.id, memberId, clock.now()));
      deps.notifier.emit('image.member.create', memberPayload(added), { context: ctx });
      return added;
    },

    /**
     * The image's memberships the caller may see: all of them for the owner and admins, only
     * its own for a member.
     * @throws NotFound (image not visible), Forbidden (image not shared).
     */
    async list(ctx: RequestContext, imageId: string): Promise<ImageMember[]> {
      const image = await findImage(ctx, imageId);
      try {
        requireShared(image);
        policy.enforceMember(ctx, 'get_members', image);
      } catch (e) {
        // Glance keeps the reason here: "Not allowed to list members for image X: <reason>".
        if (e instanceof Forbidden) throw new Forbidden(`Not allowed to list members for image ${imageId}: ${e.message}`);
        throw e;
      }
      const all = await members.list(image.id);
      return all.filter((m) => policy.canSeeMember(ctx, image, m.member_id));
    },

    /**
     * One membership.
     * @throws NotFound for an invisible image, an image that is not shared (Glance turns that
     *   Forbidden into NotFound on show, to leak nothing) and a membership the caller may not see.
     */
    async show(ctx: RequestContext, imageId: string, memberId: string): Promise<ImageMember> {
      const image = await findImage(ctx, imageId);
      try {
        requireShared(image);
        policy.enforceMember(ctx, 'get_member', image);
      } catch (e) {
        if (e instanceof Forbidden) throw new NotFound(e.message);
        throw e;
      }
      return findMember(ctx, image, memberId);
    },

    /**
     * The member answers: `body` is `{"status": "pending" | "accepted" | "rejected"}`. The
     * member itself or an admin; never the owner (who cannot accept on a project's behalf).
     * @throws Invalid (body; then "Incorrect request: …" for a bad status, checked last as
     *   Glance does), NotFound, Forbidden.
     */
    async updateStatus(ctx: RequestContext, imageId: string, memberId: string, body: unknown): Promise<ImageMember> {
      const status = parseMemberStatusBody(body);
      const image = await findImage(ctx, imageId);
      authorize(ctx, image, 'modify_member', `Not allowed to update members for image ${imageId}.`);
      const member = await findMember(ctx, image, memberId);
      policy.enforceMemberChange(ctx, 'modify_member', image);
      let updated: ImageMember;
      try {
        updated = withStatus(member, status, clock.now());
      } catch (e) {
        if (e instanceof Invalid) throw new Invalid(`Incorrect request: ${e.message}`, { cause: e });
        throw e;
      }
      if (updated !== member) await members.save(updated);
      // Glance saves (and notifies) even when the status does not change.
      deps.notifier.emit('image.member.update', memberPayload(updated), { context: ctx });
      return updated;
    },

    /**
     * Stops sharing the image with `memberId` (owner or admin).
     * @throws NotFound, Forbidden.
     */
    async remove(ctx: RequestContext, imageId: string, memberId: string): Promise<void> {
      const image = await findImage(ctx, imageId);
      authorize(ctx, image, 'delete_member', `Not allowed to delete members for image ${imageId}.`);
      const member = await findMember(ctx, image, memberId);
      policy.enforceMemberChange(ctx, 'delete_member', image);
      await members.remove(image.id, memberId);
      deps.notifier.emit('image.member.delete', memberPayload(member, clock.now()), { context: ctx });
    },
  };
}

/** Memberships exist only on shared images (Glance: "Only shared images have members."). */
function requireShared(image: Image): void {
  if (image.visibility !== 'shared') throw new Forbidden('Only shared images have members.');
}
