/**
 * Keystone v3 password authentication for the SDK: `POST /v3/auth/tokens`, the token from the
 * `X-Subject-Token` header, the image endpoint from the token's service catalog (type `image`,
 * the requested interface, optionally one region). The token is kept for the life of the
 * provider and fetched again when it is about to expire or the image service rejected it.
 */
import type { Dispatcher } from 'undici';
import type { AuthProvider } from './auth-provider.js';
import { normalizeEndpoint } from './auth-provider.js';
import type { KeystonePasswordAuth } from './client-options.js';
import { IrisClientError } from './errors.js';
import { headerValue, httpCall } from './http-call.js';

interface CatalogEndpoint {
  readonly interface?: string;
  readonly region?: string | null;
  readonly region_id?: string | null;
  readonly url?: string;
}

interface CatalogEntry {
  readonly type?: string;
  readonly endpoints?: readonly CatalogEndpoint[];
}

interface IssuedToken {
  readonly token: string;
  /** Epoch ms; Infinity when Keystone gave no expiry. */
  readonly expiresAt: number;
  readonly catalog: readonly CatalogEntry[];
}

export interface KeystoneAuthDeps {
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly debug?: (line: string) => void;
  /** Overrides the catalog (`--os-image-url` together with a password). */
  readonly endpoint?: string;
  /** Epoch ms clock, for tests. */
  readonly now?: () => number;
}

/** Renew this long before Keystone's `expires_at`, so a token never dies mid-request. */
const EXPIRY_MARGIN_MS = 60_000;

/** `http://ks:5000`, `http://ks:5000/` and `http://ks:5000/v3` all → `http://ks:5000/v3/auth/tokens`. */
export function tokensUrl(authUrl: string): string {
  const trimmed = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(trimmed) ? `${trimmed}/auth/tokens` : `${trimmed}/v3/auth/tokens`;
}

/** The v3 password request body for `auth`; the names' domains default to `Default`. */
export function passwordRequestBody(auth: KeystonePasswordAuth): unknown {
  const user: Record<string, unknown> = { password: auth.password };
  if (auth.userId !== undefined) user.id = auth.userId;
  else {
    if (auth.username === undefined) {
      throw new IrisClientError('InvalidOptions', 'Keystone password auth needs a username or a user id');
    }
    user.name = auth.username;
    user.domain = auth.userDomainId !== undefined ? { id: auth.userDomainId } : { name: auth.userDomainName ?? 'Default' };
  }
  const body: { auth: Record<string, unknown> } = {
    auth: { identity: { methods: ['password'], password: { user } } },
  };
  if (auth.projectId !== undefined) body.auth.scope = { project: { id: auth.projectId } };
  else if (auth.projectName !== undefined) {
    body.auth.scope = {
      project: {
        name: auth.projectName,
        domain: auth.projectDomainId !== undefined ? { id: auth.projectDomainId } : { name: auth.projectDomainName ?? 'Default' },
      },
    };
  }
  return body;
}

/**
 * The image endpoint in a v3 catalog for an interface and (optional) region.
 *
 * @example findImageEndpoint(catalog, 'public', 'RegionOne') // 'http://glance:9292'
 */
export function findImageEndpoint(
  catalog: readonly CatalogEntry[],
  iface: string,
  region?: string,
): string {
  const candidates = catalog
    .filter((entry) => entry.type === 'image')
    .flatMap((entry) => entry.endpoints ?? [])
    .filter((ep) => ep.interface === iface && typeof ep.url === 'string')
    .filter((ep) => region === undefined || ep.region_id === region || ep.region === region);
  const url = candidates[0]?.url;
  if (url === undefined) {
    throw new IrisClientError(
      'NoEndpoint',
      `No image endpoint with interface '${iface}'${region !== undefined ? ` in region '${region}'` : ''} in the service catalog`,
    );
  }
  return url;
}

/**
 * An AuthProvider over Keystone v3 password auth. Concurrent callers share one token request.
 *
 * @example
 *   const auth = keystonePasswordAuth({ type: 'password', authUrl: 'http://ks:5000/v3', username: 'demo',
 *     password: 's3cret', projectName: 'demo' }, { dispatcher: new Agent(), timeoutMs: 30_000, userAgent: 'x' });
 *   await auth.endpoint(); // from the catalog
 */
export function keystonePasswordAuth(auth: KeystonePasswordAuth, deps: KeystoneAuthDeps): AuthProvider {
  const now = deps.now ?? Date.now;
  const iface = auth.interface ?? 'public';
  let current: IssuedToken | undefined;
  let pending: Promise<IssuedToken> | undefined;

  async function issue(signal?: AbortSignal): Promise<IssuedToken> {
    const answer = await httpCall(
      { dispatcher: deps.dispatcher, debug: deps.debug },
      {
        method: 'POST',
        url: tokensUrl(auth.authUrl),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'User-Agent': deps.userAgent,
        },
        body: JSON.stringify(passwordRequestBody(auth)),
        timeoutMs: deps.timeoutMs,
        signal,
      },
    );
    const doc = (await answer.body.json()) as { token?: { expires_at?: string; catalog?: CatalogEntry[] } };
    const token = headerValue(answer.headers, 'x-subject-token');
    if (token === undefined || token === '') {
      throw new IrisClientError('InvalidOptions', 'Keystone answered without an X-Subject-Token header');
    }
    const expires = doc.token?.expires_at !== undefined ? Date.parse(doc.token.expires_at) : Number.NaN;
    return { token, expiresAt: Number.isFinite(expires) ? expires : Infinity, catalog: doc.token?.catalog ?? [] };
  }

  async function valid(signal?: AbortSignal): Promise<IssuedToken> {
    if (current !== undefined && current.expiresAt - EXPIRY_MARGIN_MS > now()) return current;
    pending ??= issue(signal).then(
      (t) => {
        current = t;
        pending = undefined;
        return t;
      },
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    );
    return pending;
  }

  return {
    async endpoint(signal) {
      if (deps.endpoint !== undefined) return normalizeEndpoint(deps.endpoint);
      const t = await valid(signal);
      return normalizeEndpoint(findImageEndpoint(t.catalog, iface, auth.region));
    },
    async headers(signal) {
      return { 'X-Auth-Token': (await valid(signal)).token };
    },
    invalidate() {
      current = undefined;
      return true;
    },
  };
}
