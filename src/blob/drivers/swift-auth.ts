/**
 * Authentication for the swift driver: who Iris is to Swift, and the token and storage URL that
 * buys. Auth v1 (Swift's tempauth/swauth: `X-Auth-User`/`X-Auth-Key` → `X-Storage-Url` and
 * `X-Auth-Token`), Keystone v2.0 and v3 (password auth with Glance's `project:user` form; the
 * storage URL comes from the catalog's `object-store` entry unless `swift_store_endpoint` is set).
 *
 * A session is kept until it is about to expire (`swift_store_expire_soon_interval`) or until a
 * request with it is refused (401), then renewed once; concurrent callers share one renewal.
 */
import { request, type Dispatcher } from 'undici';
import { Invalid } from '../../domain/errors.js';

/** One set of credentials: an auth address and who to be there (a swift-store.conf reference). */
export interface SwiftCredentials {
  /** Auth endpoint: tempauth's `…/auth/v1.0`, or Keystone's `…/v3` (`…/v2.0` for v2). */
  readonly authAddress: string;
  /** `'1'`, `'2'` or `'3'` (Glance's swift_store_auth_version / a reference's auth_version). */
  readonly authVersion: string;
  /** v1: `account:user`; v2/v3: `project:user` (Glance splits it at the colon). */
  readonly user: string;
  readonly key: string;
  readonly userDomainId?: string | undefined;
  readonly userDomainName?: string | undefined;
  readonly projectDomainId?: string | undefined;
  readonly projectDomainName?: string | undefined;
}

/** How a Keystone catalog is read, and what overrides it. */
export interface SwiftCatalogOptions {
  /** swift_store_region: the catalog region to pick; unset takes the first endpoint found. */
  readonly region?: string | undefined;
  /** swift_store_endpoint_type: publicURL, internalURL or adminURL. */
  readonly endpointType: string;
  /** swift_store_service_type: the catalog type, `object-store`. */
  readonly serviceType: string;
  /** swift_store_endpoint: a storage URL used instead of the catalog's (or tempauth's). */
  readonly endpoint?: string | undefined;
  /** Renew a session this many seconds before its token expires. */
  readonly expireSoonSeconds: number;
  /** The HTTP agent (TLS settings: swift_store_auth_insecure, swift_store_cacert). */
  readonly dispatcher?: Dispatcher | undefined;
  /** The clock (tests). */
  readonly now?: () => number;
}

export interface SwiftSession {
  /** The account's storage URL, e.g. `http://proxy:8080/v1/AUTH_test` (no trailing slash). */
  readonly storageUrl: string;
  readonly token: string;
  /** When the token expires (ms since the epoch), when the auth service said. */
  readonly expiresAt?: number | undefined;
}

/** The source of tokens for one set of credentials. */
export interface SwiftAuth {
  /** A session whose token is not about to expire (authenticating when needed). */
  session(signal?: AbortSignal): Promise<SwiftSession>;
  /**
   * Called when Swift refused `stale` (401): forgets it, so the next `session()` authenticates
   * again. A session already replaced by a newer one is left alone.
   */
  invalidate(stale: SwiftSession): void;
}

/** Thrown when the auth service refuses the credentials or answers something unusable. */
export class SwiftAuthError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SwiftAuthError';
  }
}

/** An auth service that does not answer within this fails the authentication (and its waiters). */
const AUTH_TIMEOUT_MS = 60_000;

const ENDPOINT_INTERFACE: Readonly<Record<string, string>> = { publicURL: 'public', internalURL: 'internal', adminURL: 'admin' };

/**
 * Checks a set of credentials without contacting anything: the version is known, and v2/v3 users
 * have Glance's `project:user` form.
 * @throws Invalid naming what is wrong.
 */
export function checkCredentials(creds: SwiftCredentials): void {
  if (!['1', '2', '3'].includes(creds.authVersion)) {
    throw new Invalid(`swift auth version must be 1, 2 or 3, not ${JSON.stringify(creds.authVersion)}`);
  }
  if (creds.authVersion !== '1') splitProjectUser(creds.user);
  if (!/^https?:\/\//.test(creds.authAddress)) throw new Invalid(`swift auth address is not an http(s) URL: ${creds.authAddress}`);
}

/** Glance's `tenant_name, user = location.user.split(':')`: exactly one colon. */
function splitProjectUser(user: string): { project: string; user: string } {
  const parts = user.split(':');
  if (parts.length !== 2) throw new Invalid(`Badly formed tenant:user '${user}' for swift auth version 2/3`);
  return { project: parts[0]!, user: parts[1]! };
}

export function createSwiftAuth(creds: SwiftCredentials, opts: SwiftCatalogOptions): SwiftAuth {
  checkCredentials(creds);
  const now = opts.now ?? Date.now;
  let current: SwiftSession | undefined;
  let pending: Promise<SwiftSession> | undefined;

  const fresh = (s: SwiftSession): boolean => s.expiresAt === undefined || s.expiresAt - now() > opts.expireSoonSeconds * 1000;

  async function authenticate(): Promise<SwiftSession> {
    const signal = AbortSignal.timeout(AUTH_TIMEOUT_MS);
    const got = creds.authVersion === '1' ? await authV1(signal) : creds.authVersion === '2' ? await authV2(signal) : await authV3(signal);
    const storageUrl = (opts.endpoint ?? got.storageUrl).replace(/\/+$/, '');
    return { ...got, storageUrl };
  }

  async function authV1(signal?: AbortSignal): Promise<SwiftSession> {
    const res = await request(creds.authAddress, {
      method: 'GET',
      headers: { 'x-auth-user': creds.user, 'x-auth-key': creds.key },
      dispatcher: opts.dispatcher,
      signal,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new SwiftAuthError(`swift auth v1 at ${creds.authAddress} refused ${creds.user}: ${res.statusCode}`, res.statusCode);
    const storageUrl = header(res.headers, 'x-storage-url');
    const token = header(res.headers, 'x-auth-token') ?? header(res.headers, 'x-storage-token');
    if (storageUrl === undefined || token === undefined) throw new SwiftAuthError(`swift auth v1 at ${creds.authAddress}: no X-Storage-Url or X-Auth-Token`);
    const expires = Number(header(res.headers, 'x-auth-token-expires'));
    return { storageUrl, token, expiresAt: Number.isFinite(expires) && expires > 0 ? now() + expires * 1000 : undefined };
  }

  async function authV3(signal?: AbortSignal): Promise<SwiftSession> {
    const { project, user } = splitProjectUser(creds.user);
    const domain = (id?: string, name?: string) => (name !== undefined && id === undefined ? { name } : { id: id ?? 'default' });
    const body = {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: user, password: creds.key, domain: domain(creds.userDomainId, creds.userDomainName) } },
        },
        scope: { project: { name: project, domain: domain(creds.projectDomainId, creds.projectDomainName) } },
      },
    };
    const base = creds.authAddress.replace(/\/+$/, '');
    const url = /\/v3$/.test(base) ? `${base}/auth/tokens` : `${base}/v3/auth/tokens`;
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      dispatcher: opts.dispatcher,
      signal,
    });
    const answer = (await res.body.json().catch(() => undefined)) as any;
    if (res.statusCode !== 201 && res.statusCode !== 200) throw new SwiftAuthError(`Keystone v3 at ${url} refused ${creds.user}: ${res.statusCode}`, res.statusCode);
    const token = header(res.headers, 'x-subject-token');
    if (token === undefined) throw new SwiftAuthError(`Keystone v3 at ${url}: no X-Subject-Token`);
    const expiresAt = Date.parse(answer?.token?.expires_at ?? '');
    const storageUrl = opts.endpoint ?? pickV3Endpoint(answer?.token?.catalog);
    return { storageUrl, token, expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt };
  }

  function pickV3Endpoint(catalog: unknown): string {
    const iface = ENDPOINT_INTERFACE[opts.endpointType] ?? opts.endpointType;
    for (const service of Array.isArray(catalog) ? catalog : []) {
      if (service?.type !== opts.serviceType) continue;
      for (const ep of Array.isArray(service.endpoints) ? service.endpoints : []) {
        if (ep?.interface !== iface) continue;
        if (opts.region !== undefined && ep.region_id !== opts.region && ep.region !== opts.region) continue;
        if (typeof ep.url === 'string') return ep.url;
      }
    }
    throw new SwiftAuthError(
      `Cannot find swift service endpoint: no ${opts.serviceType} endpoint of interface ${iface}${opts.region === undefined ? '' : ` in region ${opts.region}`} in the catalog`,
    );
  }

  async function authV2(signal?: AbortSignal): Promise<SwiftSession> {
    const { project, user } = splitProjectUser(creds.user);
    const base = creds.authAddress.replace(/\/+$/, '');
    const url = `${base}/tokens`;
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ auth: { tenantName: project, passwordCredentials: { username: user, password: creds.key } } }),
      dispatcher: opts.dispatcher,
      signal,
    });
    const answer = (await res.body.json().catch(() => undefined)) as any;
    if (res.statusCode !== 200) throw new SwiftAuthError(`Keystone v2.0 at ${url} refused ${creds.user}: ${res.statusCode}`, res.statusCode);
    const token = answer?.access?.token?.id;
    if (typeof token !== 'string') throw new SwiftAuthError(`Keystone v2.0 at ${url}: no token in the answer`);
    let storageUrl = opts.endpoint;
    if (storageUrl === undefined) {
      for (const service of answer?.access?.serviceCatalog ?? []) {
        if (service?.type !== opts.serviceType) continue;
        const ep = (service.endpoints ?? []).find((e: any) => opts.region === undefined || e?.region === opts.region);
        if (typeof ep?.[opts.endpointType] === 'string') storageUrl = ep[opts.endpointType] as string;
        break;
      }
    }
    if (storageUrl === undefined) throw new SwiftAuthError(`Cannot find swift service endpoint (${opts.serviceType}, ${opts.endpointType}) in the catalog`);
    const expiresAt = Date.parse(answer?.access?.token?.expires ?? '');
    return { storageUrl, token, expiresAt: Number.isNaN(expiresAt) ? undefined : expiresAt };
  }

  return {
    async session(signal) {
      signal?.throwIfAborted();
      if (current !== undefined && fresh(current)) return current;
      // Shared by every caller waiting for it, so no one caller's signal may cancel it; each
      // caller stops waiting on its own abort.
      pending ??= authenticate().then(
        (s) => {
          current = s;
          pending = undefined;
          return s;
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
      if (signal === undefined) return pending;
      let onAbort!: () => void;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([pending, aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    invalidate(stale) {
      if (current === stale) current = undefined;
    },
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
