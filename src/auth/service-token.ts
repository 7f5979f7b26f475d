/**
 * Iris's own Keystone token, which authenticates its validation calls: obtained with the
 * service user's password on first use, renewed before it expires (keystoneauth renews a
 * token with less than two minutes left; so does this), and dropped when Keystone stops
 * accepting it. Concurrent requests share one issuing call.
 */
import type { KeystoneClient, PasswordCredentials } from './keystone-client.js';
import { parseKeystoneTime } from './keystone-token.js';

export interface ServiceTokenSource {
  /**
   * A token believed valid for a while yet.
   *
   * @throws KeystoneRefusedError / KeystoneUnavailableError from issuing a new one.
   */
  get(signal: AbortSignal): Promise<string>;
  /** Forgets `token` (Keystone refused it) so the next get issues a new one. */
  invalidate(token: string): void;
}

/** keystoneauth's MIN_TOKEN_LIFE_SECONDS: a token closer than this to its expiry is renewed. */
const RENEW_BEFORE_MS = 120_000;

export function createServiceTokenSource(deps: {
  readonly client: KeystoneClient;
  readonly credentials: PasswordCredentials;
  readonly now?: () => number;
}): ServiceTokenSource {
  const now = deps.now ?? Date.now;
  let current: { readonly token: string; readonly renewAtMs: number } | undefined;
  let issuing: Promise<string> | undefined;

  const issue = async (signal: AbortSignal): Promise<string> => {
    const issued = await deps.client.issueToken(deps.credentials, { signal });
    const expiresAtMs = parseKeystoneTime(issued.expiresAt);
    const lifetime = expiresAtMs - now();
    // A token living less than the margin (a test Keystone) is renewed at half its life.
    const renewAtMs = expiresAtMs - Math.min(RENEW_BEFORE_MS, Math.max(0, lifetime / 2));
    current = { token: issued.token, renewAtMs };
    return issued.token;
  };

  return {
    get(signal) {
      if (current !== undefined && now() < current.renewAtMs) return Promise.resolve(current.token);
      // Shared: many requests arriving at once after expiry cause one password authentication.
      // The first caller's signal bounds it; the others are bounded by their own below.
      issuing ??= issue(signal).finally(() => {
        issuing = undefined;
      });
      return raceAbort(issuing, signal);
    },
    invalidate(token) {
      if (current?.token === token) current = undefined;
    },
  };
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
