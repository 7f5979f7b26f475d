/** The [paste_deploy] section's rows of the option table (see ../config-options.ts). */
import { isOneOf } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

const SUPPORTED_FLAVORS = ['', 'hybrid', 'noauth', 'keystone', 'apikey'] as const;

export const PASTE_DEPLOY_OPTIONS = [
  {
    section: 'paste_deploy',
    name: 'flavor',
    type: 'string',
    default: '',
    defaultText: '<None>',
    help:
      'Request pipeline. Empty (or hybrid) selects Iris\'s default: a request without identity headers acts ' +
      'as an unauthenticated admin, one with X-Project-Id/X-Roles headers gets that identity. noauth ignores ' +
      'identity headers. keystone validates X-Auth-Token with Keystone ([keystone_authtoken]); apikey accepts ' +
      'API keys made with iris-manage key create ([iris_auth] api_key_file). With keystone and apikey, ' +
      'identity headers sent by clients are ignored; /, /versions and /healthcheck stay anonymous.',
    convert: (value: string) => {
      if (!isOneOf(value, SUPPORTED_FLAVORS)) {
        throw new Error(
          `flavor ${JSON.stringify(value)} is not supported; leave it empty or use hybrid, noauth, keystone or apikey`,
        );
      }
      return value === '' ? 'hybrid' : value;
    },
  },
] as const satisfies readonly ConfigOption[];
