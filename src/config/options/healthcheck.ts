/** The [healthcheck] section's rows of the option table (see ../config-options.ts). */
import { HEALTH_BACKENDS } from '../../health/health-checks.js';
import { isOneOf } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

export const HEALTHCHECK_OPTIONS = [
  {
    section: 'healthcheck',
    name: 'disable_by_file_path',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'While this file exists, GET /healthcheck answers 503 "DISABLED BY FILE" (HEAD: 503 without a body) ' +
      'instead of 200 "OK", so a load balancer stops sending new requests to this node (oslo.middleware\'s ' +
      'disable_by_file health check, which Glance sets in its paste file). Unset: always healthy.',
    convert: (value: string) => (value === '' ? null : value),
  },
  {
    section: 'healthcheck',
    name: 'detailed',
    type: 'boolean',
    default: 'false',
    help:
      'Let admins see the detailed view of /healthcheck (oslo.middleware\'s detailed output: every check with its ' +
      'details, the host, time and runtime): a request whose credentials (a token, or identity headers in the ' +
      'header flavors) authenticate as an admin gets it, and it runs every check (disable_by_file, database, ' +
      'stores, messaging). Anyone else, and every request while this is false, gets the plain view.',
  },
  {
    section: 'healthcheck',
    name: 'backends',
    type: 'list',
    default: 'disable_by_file',
    help:
      'The checks every /healthcheck answer runs; any unavailable one makes it 503. disable_by_file (as in ' +
      'Glance\'s paste file), and Iris\'s database (a trivial query), stores (a cheap probe of each store) and ' +
      'messaging (the notifier reaches its broker). Keep the default for a load balancer\'s check unless a ' +
      'node should leave the pool when its database or stores fail.',
    convert: (value: readonly string[]) =>
      value.map((name) => {
        if (!isOneOf(name, HEALTH_BACKENDS)) throw new Error(`${JSON.stringify(name)} is not one of ${HEALTH_BACKENDS.join(', ')}`);
        return name;
      }),
  },
] as const satisfies readonly ConfigOption[];
