/**
 * Flavor `apikey`: standalone API keys, sent as X-Auth-Token (so `glance --os-auth-token KEY`
 * and `openstack --os-auth-type admin_token --os-token KEY` work unchanged). Each key stands
 * for the project, user and roles recorded with it (api-key-store.ts); identity headers a
 * client sends are never read. A key is checked by one constant-time comparison of its
 * SHA-256 with the stored one.
 *
 * The file is re-read when it changes, checked at most once per `recheckMs` (default 1 s):
 * a key created or revoked with iris-manage takes effect within that time, without a
 * restart. A file that becomes unreadable keeps the keys last read (and logs an error), so
 * a half-edited file does not lock everyone out.
 */
import { statSync, type Stats } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { RequestContext } from '../domain/context.js';
import { Unauthorized } from '../domain/errors.js';
import { digestOf, keyIdOf, readApiKeys, type ApiKeyRecord } from './api-key-store.js';
import { userToken, type Authenticator } from './authenticator.js';

export interface ApiKeyAuthOptions {
  readonly file: string;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Default 1000. */
  readonly recheckMs?: number;
  /** Monotonic-enough milliseconds (a port for tests). */
  readonly now?: () => number;
}

/** Compared against when the id is unknown, so that case costs the same as a wrong secret. */
const NO_DIGEST = Buffer.alloc(32);

export function createApiKeyAuthenticator(options: ApiKeyAuthOptions): Authenticator {
  const { file, logger } = options;
  const recheckMs = options.recheckMs ?? 1000;
  const now = options.now ?? Date.now;
  let byId = new Map<string, { record: ApiKeyRecord; digest: Buffer }>();
  let seen: string | undefined; // identity of the file version loaded
  let checkedAt = -Infinity;

  const fingerprint = (st: Stats | undefined): string => (st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'absent');

  const load = (initial: boolean): void => {
    let st: Stats | undefined;
    try {
      st = statSync(file);
    } catch {
      st = undefined;
    }
    const print = fingerprint(st);
    if (print === seen) return;
    try {
      const records = readApiKeys(file);
      byId = new Map(records.map((record) => [record.id, { record, digest: Buffer.from(record.sha256, 'hex') }]));
      seen = print;
      if (initial && records.length === 0) {
        logger.warn({ file }, 'no API keys yet: every request will be refused until one is made with iris-manage key create');
      } else {
        logger.info({ file, keys: records.length }, 'API keys loaded');
      }
    } catch (error) {
      if (initial) throw error;
      logger.error({ err: error, file }, 'API key file unreadable; keeping the keys read before');
    }
  };

  load(true);

  return {
    flavor: 'apikey',
    description: `API keys from ${file} (sent as X-Auth-Token; identity headers from clients ignored)`,

    async authenticate({ headers, requestId }): Promise<RequestContext> {
      const t = now();
      if (t - checkedAt >= recheckMs) {
        checkedAt = t;
        load(false);
      }
      const secret = userToken(headers);
      if (secret === undefined) throw new Unauthorized('no X-Auth-Token');
      const id = keyIdOf(secret);
      const entry = id === null ? undefined : byId.get(id);
      const match = timingSafeEqual(digestOf(secret), entry?.digest ?? NO_DIGEST);
      if (!match || entry === undefined) throw new Unauthorized('unknown or revoked API key');
      const { record } = entry;
      return {
        projectId: record.project,
        userId: record.user,
        roles: record.roles,
        isAdmin: record.roles.includes('admin'),
        requestId,
      };
    },

    close: async () => {},
  };
}
