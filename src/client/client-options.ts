/** Options of `createIrisClient`: where the server is, how to authenticate, how hard to try. */

/** Send no credentials (Iris's and Glance's `noauth`, or a trusted network). */
export interface NoAuth {
  readonly type: 'none';
}

/** Send a token the caller already has as `X-Auth-Token` (glanceclient's `--os-auth-token`). */
export interface TokenAuth {
  readonly type: 'token';
  readonly token: string;
}

/**
 * Keystone v3 password authentication: the SDK asks Keystone for a token, takes the image
 * endpoint from the token's catalog (unless `endpoint` is given), reuses the token for the
 * life of the client and asks for a new one once when the image service answers 401.
 */
export interface KeystonePasswordAuth {
  readonly type: 'password';
  /** Keystone's URL, with or without the `/v3` suffix (`OS_AUTH_URL`). */
  readonly authUrl: string;
  readonly username?: string;
  /** Instead of `username` + user domain. */
  readonly userId?: string;
  readonly password: string;
  /** Default `Default`, as the OpenStack clients assume. */
  readonly userDomainName?: string;
  readonly userDomainId?: string;
  /** Project scope by name (with its domain) or by id; no project = an unscoped token. */
  readonly projectName?: string;
  readonly projectId?: string;
  /** Default `Default`. */
  readonly projectDomainName?: string;
  readonly projectDomainId?: string;
  /** Catalog region to pick the image endpoint from (`OS_REGION_NAME`); any region when unset. */
  readonly region?: string;
  /** Catalog interface (`OS_INTERFACE`): `public` (default), `internal` or `admin`. */
  readonly interface?: 'public' | 'internal' | 'admin';
}

export type IrisAuth = NoAuth | TokenAuth | KeystonePasswordAuth;

export interface IrisClientOptions {
  /**
   * Base URL of the Images API, e.g. `http://127.0.0.1:9292` (a trailing `/v2` is accepted and
   * dropped, as glanceclient does). Required unless `auth` is Keystone password auth.
   */
  readonly endpoint?: string;
  /** Shorthand for `auth: { type: 'token', token }`. */
  readonly token?: string;
  /** Default: `token` when given, else no credentials. */
  readonly auth?: IrisAuth;
  /**
   * Milliseconds to wait for response headers, and for each chunk of a body while streaming
   * (so a long download never times out while data flows). Default 120 000.
   */
  readonly timeoutMs?: number;
  /**
   * Extra attempts for idempotent calls (GET, HEAD, tag PUT, DELETE) after a connection
   * failure or a 502/503/504; never for POST, PATCH or uploads. Default 2.
   */
  readonly retries?: number;
  /** First backoff delay in ms; doubles per attempt, with jitter, at most 10 s. Default 250. */
  readonly retryDelayMs?: number;
  /** Receives one line per request and answer (tokens redacted): glanceclient's `--debug`. */
  readonly debug?: (line: string) => void;
  /** Sent as `User-Agent`. Default `iris-client`. */
  readonly userAgent?: string;
}
