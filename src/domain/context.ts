/** Who is calling: built by the auth layer, read by policy and services. */
export interface RequestContext {
  /** Project (tenant) id; null for Glance's unauthenticated admin (noauth). */
  readonly projectId: string | null;
  readonly userId: string | null;
  /** Lower-cased role names. */
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  readonly requestId: string;
  /**
   * The caller's global request id (X-OpenStack-Request-ID in oslo.middleware's `req-<uuid>`
   * form), null or absent when none was given: carried into logs and notifications.
   */
  readonly globalRequestId?: string | null;
  // What a verified token says beyond the fields above (flavor keystone; API keys set the
  // names they know). Optional: the header-based flavors know none of it.
  readonly projectName?: string | null;
  readonly userName?: string | null;
  readonly projectDomainId?: string | null;
  readonly userDomainId?: string | null;
  /** Set for a domain-scoped token. */
  readonly domainId?: string | null;
  /** `all` for a system-scoped token (keystonemiddleware's OpenStack-System-Scope). */
  readonly systemScope?: string | null;
  /** Lower-cased roles of a valid X-Service-Token (the service acting for the user). */
  readonly serviceRoles?: readonly string[];
  /** The token's service catalog, as Keystone v3 returns it. */
  readonly serviceCatalog?: readonly CatalogEntry[];
  /**
   * The caller's own token (flavor keystone), kept for calls Iris makes on the caller's behalf
   * with the caller's rights: glance-download reads the remote region's Glance with it, as
   * Glance does with `context.auth_token`. Never logged.
   */
  readonly authToken?: string;
}

/** One service of a Keystone v3 catalog. */
export interface CatalogEntry {
  readonly type: string;
  readonly name?: string;
  readonly id?: string;
  readonly endpoints: readonly {
    readonly interface: string;
    readonly url: string;
    readonly region?: string | null;
    readonly region_id?: string | null;
    readonly id?: string;
  }[];
}

/**
 * The request id a task records: the caller's global request id when it sent one, else this
 * request's own. Glance's context middleware takes the caller's X-Openstack-Request-Id as the
 * request's id and records that in the task, so the caller can find its task by the id it sent.
 */
export function recordedRequestId(ctx: Pick<RequestContext, 'requestId' | 'globalRequestId'>): string {
  return ctx.globalRequestId ?? ctx.requestId;
}
