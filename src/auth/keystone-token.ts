/**
 * What a Keystone v3 token says (the body of `GET /v3/auth/tokens`), read into the fields
 * Iris uses, and the RequestContext built from it. Pure: no I/O, no clock.
 *
 * keystonemiddleware turns the same facts into X-Project-Id, X-User-Id, X-Roles,
 * X-Domain-Id, OpenStack-System-Scope, X-Service-Catalog… headers, which Glance's context
 * middleware then reads; Iris goes straight from the token to the context.
 */
import type { CatalogEntry, RequestContext } from '../domain/context.js';

export interface KeystoneIdentity {
  readonly userId: string;
  readonly userName: string | null;
  readonly userDomainId: string | null;
  /** Null for a token not scoped to a project (domain, system or unscoped). */
  readonly projectId: string | null;
  readonly projectName: string | null;
  readonly projectDomainId: string | null;
  /** Set for a domain-scoped token. */
  readonly domainId: string | null;
  /** `all` for a token scoped to the whole system. */
  readonly systemScope: string | null;
  /** Lower-cased role names (Keystone includes implied roles: member brings reader). */
  readonly roles: readonly string[];
  readonly catalog: readonly CatalogEntry[];
  /** `expires_at`, epoch milliseconds. */
  readonly expiresAtMs: number;
}

/** Reads Keystone's token body. Throws an Error saying what is missing when it is not one. */
export function parseTokenBody(body: unknown): KeystoneIdentity {
  const token = objectAt(body, 'token');
  if (token === null) throw new Error('no "token" object');
  const user = objectAt(token, 'user');
  const userId = stringAt(user, 'id');
  if (userId === null) throw new Error('no token.user.id');
  const expiresAt = stringAt(token, 'expires_at');
  if (expiresAt === null) throw new Error('no token.expires_at');
  const expiresAtMs = parseKeystoneTime(expiresAt);
  const project = objectAt(token, 'project');
  const system = objectAt(token, 'system');
  const roles = Array.isArray(token.roles) ? token.roles : [];
  return {
    userId,
    userName: stringAt(user, 'name'),
    userDomainId: stringAt(objectAt(user, 'domain'), 'id'),
    projectId: stringAt(project, 'id'),
    projectName: stringAt(project, 'name'),
    projectDomainId: stringAt(objectAt(project, 'domain'), 'id'),
    domainId: stringAt(objectAt(token, 'domain'), 'id'),
    systemScope: system !== null && system.all === true ? 'all' : null,
    roles: roles
      .map((role) => stringAt(role, 'name'))
      .filter((name): name is string => name !== null)
      .map((name) => name.toLowerCase()),
    catalog: Array.isArray(token.catalog) ? (token.catalog as CatalogEntry[]) : [],
    expiresAtMs,
  };
}

/**
 * Keystone's timestamps: ISO 8601, usually with `Z` and microseconds
 * (`2026-11-26T02:52:35.000000Z`), but without any zone for some tokens (application
 * credentials' expiry), which Keystone means as UTC.
 */
export function parseKeystoneTime(text: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/.exec(text.trim());
  if (match === null) throw new Error(`not a Keystone timestamp: ${JSON.stringify(text)}`);
  const fraction = match[2] ? match[2].slice(0, 4) : '';
  const ms = Date.parse(`${match[1]}${fraction}${match[3] ?? 'Z'}`);
  if (Number.isNaN(ms)) throw new Error(`not a Keystone timestamp: ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The caller's context, as Glance builds it from keystonemiddleware's headers: the token's
 * project is the owner of what the caller creates, and `admin` among the roles makes the
 * caller admin (Glance's context_is_admin rule).
 *
 * @param serviceRoles the roles of a valid X-Service-Token, when one came with the request.
 */
export function contextFromIdentity(
  identity: KeystoneIdentity,
  requestId: string,
  serviceRoles?: readonly string[],
): RequestContext {
  return {
    projectId: identity.projectId,
    userId: identity.userId,
    roles: identity.roles,
    isAdmin: identity.roles.includes('admin'),
    requestId,
    projectName: identity.projectName,
    userName: identity.userName,
    projectDomainId: identity.projectDomainId,
    userDomainId: identity.userDomainId,
    domainId: identity.domainId,
    systemScope: identity.systemScope,
    serviceRoles: serviceRoles ?? [],
    serviceCatalog: identity.catalog,
  };
}

type JsonRecord = Record<string, unknown>;

function objectAt(value: unknown, key: string): JsonRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const child = (value as JsonRecord)[key];
  return typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as JsonRecord) : null;
}

function stringAt(value: unknown, key: string): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const child = (value as JsonRecord)[key];
  return typeof child === 'string' && child !== '' ? child : null;
}
