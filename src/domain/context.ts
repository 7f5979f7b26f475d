/** Who is calling: built by the auth layer, read by policy and services. */
export interface RequestContext {
  /** Project (tenant) id; null for Glance's unauthenticated admin (noauth). */
  readonly projectId: string | null;
  readonly userId: string | null;
  /** Lower-cased role names. */
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  readonly requestId: string;
}
