/** The [keystone_authtoken] section's rows of the option table (see ../config-options.ts). */
import { httpUrl, passwordAuthType } from '../option-values.js';
import { ignoredOption, type ConfigOption } from '../option-types.js';

/** keystonemiddleware option Iris has no use for (its token cache is in-process). */
const ignoredKeystone = <N extends string>(name: N) =>
  ignoredOption('keystone_authtoken', name, '[keystone_authtoken] section loads without warnings; Iris caches tokens in-process.');

export const KEYSTONE_AUTHTOKEN_OPTIONS = [
  {
    section: 'keystone_authtoken',
    name: 'www_authenticate_uri',
    type: 'string',
    default: '',
    defaultText: '<auth_url>',
    deprecatedNames: [{ section: 'keystone_authtoken', name: 'auth_uri' }],
    help:
      'Public Identity endpoint put in the WWW-Authenticate: Keystone uri="..." header of 401 replies, so ' +
      'clients know where to get a token (flavor keystone). Unset means auth_url.',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'keystone_authtoken',
    name: 'auth_url',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'Keystone URL Iris authenticates its own service user against and validates tokens with, e.g. ' +
      'http://keystone:5000/v3 (a URL without /v3 gets it appended). Required by flavor keystone.',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'keystone_authtoken',
    name: 'auth_type',
    type: 'string',
    default: 'password',
    help: 'How Iris authenticates its service user to Keystone. Only password (Identity v3) is supported.',
    convert: passwordAuthType,
  },
  {
    section: 'keystone_authtoken',
    name: 'username',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: "The service user's name (usually glance). It needs the service role (or admin) to validate tokens.",
  },
  {
    section: 'keystone_authtoken',
    name: 'password',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: "The service user's password. Never logged.",
  },
  {
    section: 'keystone_authtoken',
    name: 'project_name',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Project the service user\'s token is scoped to (usually service).',
  },
  {
    section: 'keystone_authtoken',
    name: 'user_domain_name',
    type: 'string',
    default: 'Default',
    help: "Domain of the service user. Iris defaults to Default (keystoneauth has no default).",
  },
  {
    section: 'keystone_authtoken',
    name: 'project_domain_name',
    type: 'string',
    default: 'Default',
    help: "Domain of project_name. Iris defaults to Default (keystoneauth has no default).",
  },
  {
    section: 'keystone_authtoken',
    name: 'service_token_roles',
    type: 'list',
    default: 'service',
    help:
      'Roles an X-Service-Token must carry (any one of them) for the request to be treated as coming from ' +
      'a service: its user token is then accepted even when expired, as keystonemiddleware does.',
    convert: (value: readonly string[]) => value.map((role) => role.toLowerCase()),
  },
  {
    section: 'keystone_authtoken',
    name: 'service_token_roles_required',
    type: 'boolean',
    default: 'false',
    help:
      'When true, a valid X-Service-Token without one of service_token_roles is rejected (401). When false ' +
      '(keystonemiddleware\'s backwards-compatible default) it is accepted but grants nothing.',
  },
  {
    section: 'keystone_authtoken',
    name: 'token_cache_time',
    type: 'integer',
    default: '300',
    min: -1,
    max: 3600,
    help:
      'Seconds a validated token is remembered in-process, so that Keystone is not asked on every request. ' +
      'Only valid tokens are cached, never past their expiry; a token revoked in Keystone keeps working here ' +
      'for at most this long. -1 or 0 asks Keystone every time.',
  },
  {
    section: 'keystone_authtoken',
    name: 'token_cache_size',
    type: 'integer',
    default: '10000',
    min: 1,
    help: 'Iris only. Most tokens kept in the in-process cache; the least recently used is dropped first.',
  },
  {
    section: 'keystone_authtoken',
    name: 'http_connect_timeout',
    type: 'integer',
    default: '5',
    min: 1,
    max: 120,
    help:
      'Seconds one request may spend talking to Keystone (getting the service token and validating the ' +
      "caller's), after which it is answered 503 instead of waiting. keystonemiddleware's option of the " +
      'same name bounds each HTTP call and has no default; Iris bounds the whole check and defaults to 5.',
  },
  ignoredKeystone('memcached_servers'),
  ignoredKeystone('memcache_security_strategy'),
  ignoredKeystone('memcache_secret_key'),
  ignoredKeystone('region_name'),
] as const satisfies readonly ConfigOption[];
