/** The [oslo_limit] section's rows of the option table (see ../config-options.ts). */
import { httpUrl, passwordAuthType } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

export const OSLO_LIMIT_OPTIONS = [
  {
    section: 'oslo_limit',
    name: 'endpoint_id',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: "The image service's endpoint id in Keystone: limits are those registered for its service and region. Required with use_keystone_limits.",
  },
  {
    section: 'oslo_limit',
    name: 'auth_url',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Keystone URL Iris reads limits from, e.g. http://keystone:5000/v3 (a URL without /v3 gets it appended).',
    convert: (value: string) => (value === '' ? null : httpUrl(value)),
  },
  {
    section: 'oslo_limit',
    name: 'auth_type',
    type: 'string',
    default: 'password',
    help: 'How Iris authenticates to read limits. Only password (Identity v3) is supported.',
    convert: passwordAuthType,
  },
  ...(['username', 'user_id', 'password', 'user_domain_id', 'user_domain_name', 'project_id', 'project_name', 'project_domain_id', 'project_domain_name'] as const).map(
    (name) =>
      ({
        section: 'oslo_limit',
        name,
        type: 'string',
        default: '',
        defaultText: '<None>',
        help:
          name === 'password'
            ? 'Password of the user reading limits. Never logged.'
            : `keystoneauth's password plugin option ${name}: who reads the limits (a user with a system-scoped reader role, ` +
              'or a project scope where Keystone allows listing other projects\' limits).',
      }) as const,
  ),
  {
    section: 'oslo_limit',
    name: 'system_scope',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help: 'Scope the token to the system (all), which Keystone requires to list the limits of every project. Takes precedence over project_*.',
  },
  {
    section: 'oslo_limit',
    name: 'timeout',
    type: 'integer',
    default: '5',
    min: 1,
    help: 'Seconds one exchange with Keystone may take; then the request is answered 500 (as Glance does when oslo.limit fails).',
  },
] as const satisfies readonly ConfigOption[];
