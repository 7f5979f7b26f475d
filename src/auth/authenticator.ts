/**
 * The authentication port: turns a request's headers into the caller's RequestContext, once
 * per request, at the edge (the server's onRequest hook, for /v2 paths only — version
 * discovery and the health check stay anonymous, as behind Glance's paste pipeline).
 *
 * One implementation per `[paste_deploy] flavor`: header-based (hybrid, noauth), Keystone
 * tokens (keystone) and API keys (apikey); `create-authenticator.ts` picks one.
 */
import type { AuthFlavor } from '../config/config.js';
import type { RequestContext } from '../domain/context.js';

/** Request headers as Node gives them: lower-case names. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface AuthRequest {
  readonly headers: RequestHeaders;
  /** Carried into the context (x-openstack-request-id). */
  readonly requestId: string;
}

export interface Authenticator {
  readonly flavor: AuthFlavor;
  /** What this mode trusts, in one sentence, for the start log. */
  readonly description: string;
  /**
   * Builds the caller's context.
   *
   * @throws Unauthorized when the request carries no acceptable credentials (with a
   *   `challenge` for Keystone); ServiceUnavailable when the credentials cannot be checked
   *   now (Keystone down or slow: answered within the configured bound, never a hang).
   *
   * @example
   *   const ctx = await authenticator.authenticate({ headers: request.headers, requestId: request.id });
   */
  authenticate(request: AuthRequest): Promise<RequestContext>;
  /** Releases connections and timers; authenticate must not be called after. */
  close(): Promise<void>;
}

/** The first value of a header, if any. */
export function firstHeader(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The token a client sent, as keystonemiddleware reads it: X-Auth-Token, else the older
 * X-Storage-Token, surrounding whitespace removed; undefined when absent or empty.
 */
export function userToken(headers: RequestHeaders): string | undefined {
  const raw = firstHeader(headers, 'x-auth-token') ?? firstHeader(headers, 'x-storage-token');
  const token = raw?.trim();
  return token ? token : undefined;
}
