/**
 * Where `iris` connects and how it authenticates, from glanceclient's flags and environment
 * variables (flags win): a token with an image URL skips Keystone exactly as
 * `glance --os-auth-token … --os-image-url …` does; otherwise a username and password go to
 * Keystone v3 at `OS_AUTH_URL`; an image URL alone talks to a server without auth.
 */
import type { IrisClientOptions, KeystonePasswordAuth } from '../../client/index.js';
import { CliError } from './cli-io.js';

/** The global options as commander hands them over (camelCase of the flag names). */
export interface ConnectionFlags {
  readonly osImageUrl?: string;
  readonly osAuthToken?: string;
  readonly osAuthUrl?: string;
  readonly osUsername?: string;
  readonly osUserId?: string;
  readonly osPassword?: string;
  readonly osProjectName?: string;
  readonly osProjectId?: string;
  readonly osUserDomainName?: string;
  readonly osUserDomainId?: string;
  readonly osProjectDomainName?: string;
  readonly osProjectDomainId?: string;
  readonly osRegionName?: string;
  readonly osInterface?: string;
  readonly timeout?: number;
}

/** Flag → environment variables consulted when the flag is absent (first set one wins). */
export const ENVIRONMENT: Readonly<Record<keyof Omit<ConnectionFlags, 'timeout'>, readonly string[]>> = {
  osImageUrl: ['OS_IMAGE_URL'],
  osAuthToken: ['OS_AUTH_TOKEN'],
  osAuthUrl: ['OS_AUTH_URL'],
  osUsername: ['OS_USERNAME'],
  osUserId: ['OS_USER_ID'],
  osPassword: ['OS_PASSWORD'],
  osProjectName: ['OS_PROJECT_NAME', 'OS_TENANT_NAME'],
  osProjectId: ['OS_PROJECT_ID', 'OS_TENANT_ID'],
  osUserDomainName: ['OS_USER_DOMAIN_NAME'],
  osUserDomainId: ['OS_USER_DOMAIN_ID'],
  osProjectDomainName: ['OS_PROJECT_DOMAIN_NAME'],
  osProjectDomainId: ['OS_PROJECT_DOMAIN_ID'],
  osRegionName: ['OS_REGION_NAME'],
  osInterface: ['OS_INTERFACE', 'OS_ENDPOINT_TYPE'],
};

function pick(flags: ConnectionFlags, env: NodeJS.ProcessEnv, key: keyof typeof ENVIRONMENT): string | undefined {
  const flag = flags[key];
  if (flag !== undefined && flag !== '') return flag;
  for (const name of ENVIRONMENT[key]) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** `publicURL` (the old endpoint-type spelling) and `public` both mean the public interface. */
function normalizeInterface(value: string | undefined): KeystonePasswordAuth['interface'] {
  if (value === undefined) return undefined;
  const v = value.replace(/URL$/, '').toLowerCase();
  if (v === 'public' || v === 'internal' || v === 'admin') return v;
  throw new CliError(`Invalid interface '${value}': use public, internal or admin`);
}

/**
 * Client options for the given flags and environment; CliError when neither an endpoint nor
 * Keystone credentials are there.
 *
 * @example connectionOptions({}, { OS_IMAGE_URL: 'http://127.0.0.1:9292', OS_AUTH_TOKEN: 't' })
 *   // { endpoint: 'http://127.0.0.1:9292', auth: { type: 'token', token: 't' } }
 */
export function connectionOptions(flags: ConnectionFlags, env: NodeJS.ProcessEnv): IrisClientOptions {
  const endpoint = pick(flags, env, 'osImageUrl');
  const token = pick(flags, env, 'osAuthToken');
  const timeoutMs = flags.timeout !== undefined ? flags.timeout * 1000 : undefined;
  if (token !== undefined) {
    // OS_AUTH_URL may be set too (glanceclient users keep it for its schema-cache quirk); with a
    // token and an image URL, Keystone is never contacted, as in glanceclient.
    if (endpoint === undefined) {
      throw new CliError('A token needs an image endpoint: set --os-image-url or OS_IMAGE_URL');
    }
    return { endpoint, auth: { type: 'token', token }, timeoutMs };
  }
  const authUrl = pick(flags, env, 'osAuthUrl');
  const username = pick(flags, env, 'osUsername');
  const userId = pick(flags, env, 'osUserId');
  const password = pick(flags, env, 'osPassword');
  if (authUrl !== undefined && (username !== undefined || userId !== undefined)) {
    if (password === undefined) throw new CliError('Keystone authentication needs a password: set --os-password or OS_PASSWORD');
    return {
      endpoint,
      timeoutMs,
      auth: {
        type: 'password',
        authUrl,
        username,
        userId,
        password,
        userDomainName: pick(flags, env, 'osUserDomainName'),
        userDomainId: pick(flags, env, 'osUserDomainId'),
        projectName: pick(flags, env, 'osProjectName'),
        projectId: pick(flags, env, 'osProjectId'),
        projectDomainName: pick(flags, env, 'osProjectDomainName'),
        projectDomainId: pick(flags, env, 'osProjectDomainId'),
        region: pick(flags, env, 'osRegionName'),
        interface: normalizeInterface(pick(flags, env, 'osInterface')),
      },
    };
  }
  if (endpoint !== undefined) return { endpoint, auth: { type: 'none' }, timeoutMs };
  throw new CliError(
    'No image endpoint: set --os-image-url or OS_IMAGE_URL (with --os-auth-token for a token), ' +
      'or Keystone credentials (--os-auth-url, --os-username, --os-password)',
  );
}
