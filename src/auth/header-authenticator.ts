/**
 * The header-based flavors (hybrid, noauth) as an Authenticator: no credentials are checked;
 * see `request-context.ts` for what each trusts.
 */
import type { Authenticator } from './authenticator.js';
import { contextFromHeaders } from './request-context.js';

export function createHeaderAuthenticator(flavor: 'hybrid' | 'noauth'): Authenticator {
  return {
    flavor,
    description:
      flavor === 'noauth'
        ? 'no Keystone; every request is admin'
        : 'no Keystone; identity taken from request headers, admin without them',
    // async: a refused identity (X-Identity-Status) becomes a rejection, like the other flavors'.
    authenticate: async ({ headers, requestId }) => contextFromHeaders(flavor, headers, requestId),
    close: async () => {},
  };
}
