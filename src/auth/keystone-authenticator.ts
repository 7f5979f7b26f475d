/**
 * Flavor `keystone`: every /v2 request must carry a Keystone token in X-Auth-Token, which is
 * validated with Keystone v3 as keystonemiddleware's auth_token does, and the caller's
 * context comes from the token alone — identity headers a client sends (X-Project-Id,
 * X-Roles, …) are never read in this mode.
 *
 * Outcomes, as keystonemiddleware's:
 *  - no token, or one Keystone does not know (404: malformed, expired, revoked), or one past
 *    its expiry → 401 with `WWW-Authenticate: Keystone uri="<www_authenticate_uri>"`;
 *  - Keystone unreachable, not answering within `http_connect_timeout`, answering an
 *    unexpected status, or refusing Iris's own credentials (wrong service password: Iris
 *    retries once with a fresh service token first) → 503. keystonemiddleware answers 503
 *    there too: the caller's token may well be fine, it is the service that is broken.
 *  - X-Service-Token: validated the same way; an invalid one is 401. One carrying any of
 *    `service_token_roles` lets an expired user token through (a service finishing a long
 *    operation for a user); without those roles it is 401 when
 *    `service_token_roles_required`, otherwise accepted and granting nothing.
 *
 * Cache: only valid tokens, keyed by their SHA-256, each until the earlier of
 * `token_cache_time` and the token's own expiry. A token revoked in Keystone therefore
 * keeps working here for at most `token_cache_time` seconds (default 300) — the same bound
 * keystonemiddleware documents. Concurrent checks of one token share one Keystone call.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/context.js';
import { ServiceUnavailable, Unauthorized } from '../domain/errors.js';
import { firstHeader, userToken, type Authenticator, type AuthRequest } from './authenticator.js';
import { KeystoneRefusedError, type KeystoneClient, type PasswordCredentials } from './keystone-client.js';
import { contextFromIdentity, parseTokenBody, type KeystoneIdentity } from './keystone-token.js';
import { createServiceTokenSource, raceAbort } from './service-token.js';
import { createTtlCache } from './ttl-cache.js';

export interface KeystoneAuthOptions {
  readonly client: KeystoneClient;
  readonly credentials: PasswordCredentials;
  /** Put in the WWW-Authenticate challenge of 401 replies. */
  readonly wwwAuthenticateUri: string;
  /** Lower-cased. */
  readonly serviceTokenRoles: readonly string[];
  readonly serviceTokenRolesRequired: boolean;
  /** <= 0: no cache. */
  readonly cacheTimeMs: number;
  readonly cacheSize: number;
  /** Bound on one request's whole exchange with Keystone. */
  readonly timeoutMs: number;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Epoch ms (a port for tests). */
  readonly now?: () => number;
}

/**
 * Longest token accepted for validation; a longer header is refused without asking Keystone.
 * Fernet tokens are about 200 characters, JWS tokens under a kilobyte.
 */
const MAX_TOKEN_LENGTH = 8192;
/** Visible ASCII only: anything else cannot be a Keystone token. */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;

/** keystonemiddleware's text for the 503 (webob's detail paragraph). */
const UNAVAILABLE = 'The Keystone service is temporarily unavailable.';

export function createKeystoneAuthenticator(options: KeystoneAuthOptions): Authenticator {
  const { client, logger } = options;
  const now = options.now ?? Date.now;
  const challenge = `Keystone uri="${options.wwwAuthenticateUri}"`;
  const serviceTokens = createServiceTokenSource({ client, credentials: options.credentials, now });
  const cache = createTtlCache<KeystoneIdentity>({ maxEntries: options.cacheSize, now });
  const inflight = new Map<string, Promise<KeystoneIdentity | null>>();
  let warnedServiceRoles = false;

  const reject = (why: string): Unauthorized => {
    logger.info({ reason: why }, 'request rejected: authentication failed');
    return new Unauthorized(why, { challenge });
  };

  /** Keystone's answer for one token: its identity, or null when it is not valid. */
  const fetchIdentity = async (token: string, allowExpired: boolean, signal: AbortSignal): Promise<KeystoneIdentity | null> => {
    let serviceToken = await serviceTokens.get(signal);
    let body: unknown;
    try {
      body = await client.validateToken(serviceToken, token, { allowExpired, signal });
    } catch (error) {
      if (!(error instanceof KeystoneRefusedError)) throw error;
      // keystonemiddleware retries once: the service token may have been revoked or expired early.
      serviceTokens.invalidate(serviceToken);
      serviceToken = await serviceTokens.get(signal);
      body = await client.validateToken(serviceToken, token, { allowExpired, signal });
    }
    if (body === null) return null;
    try {
      return parseTokenBody(body);
    } catch (error) {
      logger.warn({ err: error }, 'Keystone returned token data Iris cannot read; treating the token as invalid');
      return null;
    }
  };

  /**
   * The identity of a valid token, from the cache or Keystone; null when not valid.
   * `bound()` gives the request's deadline signal, made only when Keystone must be asked: a
   * timer per request would cost more than the whole cached path.
   */
  const verify = async (token: string, allowExpired: boolean, bound: () => AbortSignal): Promise<KeystoneIdentity | null> => {
    const key = createHash('sha256').update(token).digest('base64');
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const signal = bound();
    const flightKey = `${allowExpired ? 'e' : 'v'}${key}`;
    let flight = inflight.get(flightKey);
    if (flight === undefined) {
      flight = fetchIdentity(token, allowExpired, signal).finally(() => inflight.delete(flightKey));
      inflight.set(flightKey, flight);
    }
    const identity = await raceAbort(flight, signal);
    if (identity === null) return null;
    const t = now();
    // keystonemiddleware's will_expire_soon(stale_duration=0).
    if (identity.expiresAtMs <= t && !allowExpired) return null;
    if (options.cacheTimeMs > 0) cache.set(key, identity, Math.min(t + options.cacheTimeMs, identity.expiresAtMs));
    return identity;
  };

  const checked = async <T>(step: () => Promise<T>, signal: () => AbortSignal | undefined): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      const timedOut = signal()?.aborted === true;
      logger.error(
        { err: timedOut ? undefined : error, timeout_ms: timedOut ? options.timeoutMs : undefined, keystone: client.baseUrl },
        timedOut
          ? `Unable to validate token: Keystone did not answer within ${options.timeoutMs} ms`
          : `Unable to validate token: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw new ServiceUnavailable(UNAVAILABLE, { cause: error, check: 'keystone-unavailable' });
    }
  };

  return {
    flavor: 'keystone',
    description:
      `Keystone tokens validated with ${client.baseUrl} (service user ${JSON.stringify(options.credentials.username)}; ` +
      `valid tokens cached ${Math.max(0, options.cacheTimeMs / 1000)} s; identity headers from clients ignored)`,

    async authenticate({ headers, requestId }: AuthRequest): Promise<RequestContext> {
      const token = userToken(headers);
      if (token === undefined) throw reject('no X-Auth-Token');
      if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SYNTAX.test(token)) throw reject('malformed X-Auth-Token');
      let signal: AbortSignal | undefined;
      const bound = (): AbortSignal => (signal ??= AbortSignal.timeout(options.timeoutMs));
      const made = (): AbortSignal | undefined => signal;

      let serviceRoles: readonly string[] | undefined;
      let allowExpired = false;
      const serviceToken = firstHeader(headers, 'x-service-token')?.trim();
      if (serviceToken) {
        if (serviceToken.length > MAX_TOKEN_LENGTH || !TOKEN_SYNTAX.test(serviceToken)) throw reject('malformed X-Service-Token');
        const service = await checked(() => verify(serviceToken, false, bound), made);
        if (service === null) throw reject('invalid X-Service-Token');
        const hasServiceRole = service.roles.some((role) => options.serviceTokenRoles.includes(role));
        if (!hasServiceRole && options.serviceTokenRolesRequired) throw reject('X-Service-Token lacks service_token_roles');
        if (!hasServiceRole && !warnedServiceRoles) {
          warnedServiceRoles = true;
          logger.warn('A valid token was sent as X-Service-Token without any of service_token_roles; accepted (service_token_roles_required = false)');
        }
        allowExpired = hasServiceRole;
        serviceRoles = service.roles;
      }

      const identity = await checked(() => verify(token, allowExpired, bound), made);
      if (identity === null) throw reject('invalid, expired or revoked X-Auth-Token');
      // The token itself too: glance-download calls the remote region's Glance with it.
      return { ...contextFromIdentity(identity, requestId, serviceRoles), authToken: token };
    },

    async close() {
      cache.clear();
      await client.close();
    },
  };
}
