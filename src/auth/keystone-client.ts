/**
 * The two Identity v3 calls token validation needs, over undici: issuing the service's own
 * token with its password (`POST /v3/auth/tokens`) and validating a caller's token with it
 * (`GET /v3/auth/tokens`, the caller's in X-Subject-Token). Statuses become the outcomes
 * keystonemiddleware distinguishes; every call takes an AbortSignal, so the caller bounds it.
 */
import { Agent, request, type Dispatcher } from 'undici';

/** The service user's password credentials, scoped to a project by name. */
export interface PasswordCredentials {
  readonly username: string;
  readonly password: string;
  readonly userDomainName: string;
  readonly projectName: string;
  readonly projectDomainName: string;
}

export interface IssuedToken {
  readonly token: string;
  /** Keystone's `expires_at`, as sent (see parseKeystoneTime). */
  readonly expiresAt: string;
}

/** Keystone cannot be used now: unreachable, no answer in time, or an unexpected answer. */
export class KeystoneUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeystoneUnavailableError';
  }
}

/** Keystone answered 401 to Iris's own credentials: the service password, or the service token. */
export class KeystoneRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeystoneRefusedError';
  }
}

export interface KeystoneClient {
  /** The Identity v3 base URL every call goes to (auth_url with /v3). */
  readonly baseUrl: string;
  /**
   * Issues a project-scoped token for `credentials`.
   *
   * @throws KeystoneRefusedError on 401 (wrong user, password or project);
   *   KeystoneUnavailableError on anything else that is not 201, on network errors and on abort.
   */
  issueToken(credentials: PasswordCredentials, options: { signal: AbortSignal }): Promise<IssuedToken>;
  /**
   * Validates `subjectToken`, authenticated by `serviceToken`; resolves to Keystone's JSON body
   * (`{"token": …}`, catalog included) or null when Keystone does not know the token (404:
   * malformed, expired, revoked).
   *
   * @param options.allowExpired ask for an expired token's data too (for callers with a valid
   *   service token, as keystonemiddleware does).
   * @throws KeystoneRefusedError on 401 (the service token is no longer accepted);
   *   KeystoneUnavailableError on any other status, network errors and abort.
   */
  validateToken(
    serviceToken: string,
    subjectToken: string,
    options: { allowExpired: boolean; signal: AbortSignal },
  ): Promise<unknown | null>;
  close(): Promise<void>;
}

/** `auth_url` as the Identity v3 base: trailing slashes dropped, `/v3` added when missing. */
export function identityV3Url(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(base) ? base : `${base}/v3`;
}

const USER_AGENT = 'iris-keystone-auth';

/**
 * @example
 *   const keystone = createKeystoneClient({ authUrl: 'http://127.0.0.1:5000/v3' });
 *   const { token } = await keystone.issueToken(creds, { signal: AbortSignal.timeout(5000) });
 */
export function createKeystoneClient(options: { authUrl: string; dispatcher?: Dispatcher }): KeystoneClient {
  const baseUrl = identityV3Url(options.authUrl);
  const tokensUrl = `${baseUrl}/auth/tokens`;
  // Own connection pool, kept alive between checks; closed with the client.
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32 });

  const call = async (
    what: string,
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal: AbortSignal },
  ): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; text: string }> => {
    try {
      const response = await request(url, { ...init, dispatcher });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      if (init.signal.aborted) {
        throw new KeystoneUnavailableError(`${what}: no answer from Keystone (${baseUrl}) in time`, { cause: error });
      }
      const reason = error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}` : String(error);
      throw new KeystoneUnavailableError(`${what}: cannot reach Keystone (${baseUrl}): ${reason}`, { cause: error });
    }
  };

  return {
    baseUrl,

    async issueToken(credentials, { signal }) {
      const body = JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: credentials.username,
                domain: { name: credentials.userDomainName },
                password: credentials.password,
              },
            },
          },
          scope: { project: { name: credentials.projectName, domain: { name: credentials.projectDomainName } } },
        },
      });
      const res = await call('service authentication', tokensUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT },
        body,
        signal,
      });
      if (res.status === 401) {
        throw new KeystoneRefusedError(
          `Keystone refused the service credentials (user ${JSON.stringify(credentials.username)}, project ` +
            `${JSON.stringify(credentials.projectName)}): check [keystone_authtoken] username, password, project_name and domains`,
        );
      }
      if (res.status !== 201 && res.status !== 200) {
        throw new KeystoneUnavailableError(`service authentication: Keystone answered ${res.status}: ${res.text.slice(0, 200)}`);
      }
      const subject = res.headers['x-subject-token'];
      const token = Array.isArray(subject) ? subject[0] : subject;
      let expiresAt: unknown;
      try {
        expiresAt = (JSON.parse(res.text) as { token?: { expires_at?: unknown } }).token?.expires_at;
      } catch {
        expiresAt = undefined;
      }
      if (!token || typeof expiresAt !== 'string') {
        throw new KeystoneUnavailableError('service authentication: Keystone answered without a token or its expiry');
      }
      return { token, expiresAt };
    },

    async validateToken(serviceToken, subjectToken, { allowExpired, signal }) {
      const res = await call('token validation', allowExpired ? `${tokensUrl}?allow_expired=1` : tokensUrl, {
        method: 'GET',
        headers: {
          'x-auth-token': serviceToken,
          'x-subject-token': subjectToken,
          accept: 'application/json',
          'user-agent': USER_AGENT,
        },
        signal,
      });
      if (res.status === 404) return null;
      if (res.status === 401) throw new KeystoneRefusedError('Keystone no longer accepts the service token');
      if (res.status !== 200) {
        throw new KeystoneUnavailableError(`token validation: Keystone answered ${res.status}: ${res.text.slice(0, 200)}`);
      }
      try {
        return JSON.parse(res.text) as unknown;
      } catch {
        throw new KeystoneUnavailableError('token validation: Keystone answered 200 with a body that is not JSON');
      }
    },

    async close() {
      if (options.dispatcher === undefined) await dispatcher.close();
    },
  };
}
