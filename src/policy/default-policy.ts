/**
 * Glance 25.1.0's behaviour with its shipped defaults (`enforce_new_defaults = false`): every
 * image rule is "new rule OR rule:default" where rule:default is empty (always true), except
 * publicize_image (role:admin). What actually restricts callers are the checks Glance makes in
 * code: glance/db/utils.py is_image_visible and glance/db/sqlalchemy/api.py is_image_mutable.
 */
import type { RequestContext } from '../domain/context.js';
import { Forbidden } from '../domain/errors.js';
import type { Image, Visibility } from '../domain/image.js';
import type { ImageAction, MemberAction, Policy } from '../domain/policy.js';
import type { ListScope, MemberStatus } from '../domain/ports.js';

export function createDefaultPolicy(): Policy {
  const canModify = (ctx: RequestContext, image: Image): boolean => {
    if (ctx.isAdmin) return true;
    if (image.owner === null || ctx.projectId === null) return false;
    return image.owner === ctx.projectId;
  };

  return {
    enforce(ctx, action, image) {
      switch (action) {
        case 'publicize_image':
          // The rule is `role:admin`: the project-less noauth admin has no roles and is refused.
          if (!ctx.roles.includes('admin')) throw new Forbidden('You are not authorized to complete publicize_image action.');
          return;
        case 'modify_image':
        case 'delete_image':
        case 'upload_image':
        case 'deactivate':
        case 'reactivate':
        case 'communitize_image':
          if (image && !canModify(ctx, image)) throw new Forbidden('You do not own this image');
          return;
        default:
          return;
      }
    },

    canSee(ctx, image, membership) {
      if (ctx.isAdmin) return true;
      if (image.owner === null) return true;
      if (image.visibility === 'public' || image.visibility === 'community') return true;
      if (ctx.projectId !== null) {
        if (ctx.projectId === image.owner) return true;
        if (image.visibility === 'shared' && membership !== null) return true;
      }
      return false;
    },

    canModify,

    needsMembership(ctx, image) {
      return (
        !ctx.isAdmin &&
        image.owner !== null &&
        image.visibility === 'shared' &&
        ctx.projectId !== null &&
        ctx.projectId !== image.owner
      );
    },

    listScope(ctx, visibility: Visibility | 'all' | undefined, memberStatus: MemberStatus | 'all'): ListScope {
      return { project: ctx.projectId, isAdmin: ctx.isAdmin, visibility, memberStatus };
    },

    // The member rules are glance/api/v2/image_members.py _check_visibility_and_ownership:
    // the owner manages the member list, only the member answers for itself, admins do all.
    enforceMember(ctx, action: MemberAction, image) {
      if (ctx.isAdmin) return;
      switch (action) {
        case 'add_member':
          if (!ownsImage(ctx, image)) throw new Forbidden('You are not permitted to create image members for the image.');
          return;
        case 'modify_member':
          // Glance compares the projects as they are, so a caller without a project cannot
          // answer for an ownerless image's members either.
          if (ctx.projectId === image.owner) {
            throw new Forbidden("You are not permitted to modify 'status' on this image member.");
          }
          return;
        case 'delete_member':
          // Glance lets a caller without a project delete members of an ownerless image
          // (None == None); Iris requires a real owner, like every other owner-only action.
          if (!ownsImage(ctx, image)) throw new Forbidden('You cannot delete image member.');
          return;
        default:
          return;
      }
    },

    canSeeMember(ctx, image, memberId) {
      // Glance's _image_member_find: admins see every membership, others the ones of images
      // they own and their own. Glance matches a caller without a project to ownerless
      // images (owner IS NULL) and so shows it their whole member lists; Iris does not.
      if (ctx.isAdmin) return true;
      if (ctx.projectId === null) return false;
      return image.owner === ctx.projectId || memberId === ctx.projectId;
    },
  };
}

/** Owner of the image: a real project equal to the image's (ownerless images have none). */
function ownsImage(ctx: RequestContext, image: Image): boolean {
  return ctx.projectId !== null && image.owner === ctx.projectId;
}

export type { ImageAction, MemberAction };
