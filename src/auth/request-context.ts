/**
 * Builds the RequestContext from a request's headers, for the no-Keystone flavors:
 *  - `noauth`: Glance's UnauthenticatedContextMiddleware — every request is an admin without a
 *    project; identity headers are ignored.
 *  - `hybrid` (Iris's default, the peer Glance's test mode): a request without identity
 *    headers is exactly `noauth`; one that carries them gets that identity (what
 *    keystonemiddleware would inject), admin only with the `admin` role.
 */
import type { AuthFlavor } from '../config/config.js';
import type { RequestContext } from '../domain/context.js';
import { Unauthorized } from '../domain/errors.js';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The identity headers of the header flavors (hybrid, noauth), as keystonemiddleware sets them. */
export const IDENTITY_HEADERS = [
  'x-identity-status',
  'x-project-id',
  'x-tenant-id',
  'x-tenant',
  'x-roles',
  'x-role',
  'x-user-id',
  'x-user',
] as const;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseRoles(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((r) => r.trim().toLowerCase())
    .filter((r) => r.length > 0);
}

/**
 * Convenience for CLIs that can only send a token in hybrid mode (same shim as the peer
 * Glance's test setup): `X-Auth-Token: peer:<project>[:<role,role>[:<user>]]`.
 */
function identityFromToken(token: string | undefined): Record<string, string> | null {
  if (!token) return null;
  let decoded = token;
  try {
    decoded = decodeURIComponent(token);
  } catch {
    // not percent-encoded: use as is
  }
  if (!decoded.startsWith('peer:')) return null;
  const [, project = '', roles = 'member,reader', user = 'peer-user'] = decoded.split(':');
  if (!project) return null;
  return { 'x-project-id': project, 'x-roles': roles, 'x-user-id': user };
}

export function contextFromHeaders(flavor: AuthFlavor, rawHeaders: Headers, requestId: string): RequestContext {
  const noauth: RequestContext = { projectId: null, userId: null, roles: [], isAdmin: true, requestId };
  if (flavor === 'noauth') return noauth;
  const tokenIdentity = identityFromToken(header(rawHeaders, 'x-auth-token'));
  const headers: Headers = tokenIdentity ? { ...rawHeaders, ...tokenIdentity } : rawHeaders;
  if (!IDENTITY_HEADERS.some((h) => headers[h] !== undefined)) return noauth;
  const status = header(headers, 'x-identity-status') ?? 'Confirmed';
  if (status !== 'Confirmed') throw new Unauthorized('Identity not confirmed');
  const roles = parseRoles(header(headers, 'x-roles') ?? header(headers, 'x-role'));
  const projectId = header(headers, 'x-project-id') ?? header(headers, 'x-tenant-id') ?? header(headers, 'x-tenant') ?? null;
  const userId = header(headers, 'x-user-id') ?? header(headers, 'x-user') ?? null;
  return { projectId: projectId || null, userId: userId || null, roles, isAdmin: roles.includes('admin'), requestId };
}
