/**
 * The Policy port: who may see and do what. The implementation (`policy/rule-policy.ts`)
 * evaluates Glance's rules (defaults as data, overridable by a policy file) plus the
 * ownership and visibility checks Glance 25.1.0 makes in code.
 */
import type { RequestContext } from './context.js';
import type { Image, Visibility } from './image.js';
import type { ListScope, MemberStatus } from './ports.js';

export type ImageAction =
  | 'add_image'
  | 'get_image'
  | 'get_images'
  | 'modify_image'
  | 'delete_image'
  | 'upload_image'
  | 'download_image'
  | 'publicize_image'
  | 'communitize_image'
  | 'deactivate'
  | 'reactivate'
  | 'copy_image'
  | 'delete_image_location'
  | 'set_image_location'
  | 'add_image_location'
  | 'fetch_image_location';

/** Image-member actions, with Glance's policy names. */
export type MemberAction = 'add_member' | 'get_members' | 'get_member' | 'modify_member' | 'delete_member';

/** What property protections distinguish. */
export type PropertyOperation = 'create' | 'read' | 'update' | 'delete';

/** What a create request proposes: Glance's policy target before an image exists. */
export interface ProposedImage {
  /** As requested; absent = the caller's project. */
  readonly owner?: string | null;
  /** As requested; absent = Glance's `private` for the policy target. */
  readonly visibility?: Visibility;
}

export interface Policy {
  /**
   * Throws Forbidden when the caller may not perform `action` (on `image` when given).
   * Callers check visibility first (`canSee`) so a hidden image is NotFound, never Forbidden;
   * when a rule refuses and the caller's `get_image` rule refuses too, this throws NotFound
   * (Glance hides images the policy does not let the caller see).
   */
  enforce(ctx: RequestContext, action: ImageAction, image?: Image): void;
  /**
   * The checks of `POST /v2/images` once the body is read: `add_image` on the proposed
   * owner and visibility, `publicize_image`/`communitize_image`, and (legacy mode) that a
   * non-admin creates images only for its own project. Throws Forbidden.
   */
  enforceCreate(ctx: RequestContext, proposed: ProposedImage): void;
  /** Whether a listed image stays in the list (Glance drops those its `get_image` rule refuses). */
  canList(ctx: RequestContext, image: Image): boolean;
  /**
   * Property protections (`property_protection_file`): whether the caller may `op` the extra
   * property `name`. Always true when no protections are configured.
   */
  propertyAllowed(ctx: RequestContext, name: string, op: PropertyOperation): boolean;
  /**
   * Whether the image exists for this caller. `membership` is the caller's membership status
   * on the image (null when none); any membership status makes a shared image visible by id.
   */
  canSee(ctx: RequestContext, image: Image, membership: MemberStatus | null): boolean;
  /** Whether the caller may change the image (owner or admin). */
  canModify(ctx: RequestContext, image: Image): boolean;
  /** Whether `canSee` needs the caller's membership to decide (so the service fetches it only then). */
  needsMembership(ctx: RequestContext, image: Image): boolean;
  /** The list scope for this caller and the requested `visibility=` / `member_status=`. */
  listScope(ctx: RequestContext, visibility: Visibility | 'all' | undefined, memberStatus: MemberStatus | 'all'): ListScope;
  /**
   * Throws Forbidden when the caller may not perform the member `action` on `image` (which
   * the caller can see). Whether the image is shared at all is the service's check.
   */
  enforceMember(ctx: RequestContext, action: MemberAction, image: Image): void;
  /**
   * The rule of changing a membership (modify_member, delete_member), which Glance checks
   * only once the membership is found: so a membership the caller cannot see is NotFound
   * before the rule can refuse. `enforceMember` checks everything before the lookup.
   */
  enforceMemberChange(ctx: RequestContext, action: 'modify_member' | 'delete_member', image: Image): void;
  /** Whether the caller may see the membership of project `memberId` on `image` (list, show, update). */
  canSeeMember(ctx: RequestContext, image: Image, memberId: string): boolean;
}
