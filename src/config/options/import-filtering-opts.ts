/** The [import_filtering_opts] section's rows of the option table (see ../config-options.ts). */
import { hostList, portList, schemeList } from '../option-values.js';
import type { ConfigOption } from '../option-types.js';

export const IMPORT_FILTERING_OPTS_OPTIONS = [
  {
    section: 'import_filtering_opts',
    name: 'allowed_schemes',
    type: 'list',
    default: 'http,https',
    help:
      'URL schemes web-download may fetch from. When this list is not empty it is the only scheme check ' +
      'and disallowed_schemes is ignored; leave it empty to use disallowed_schemes instead. Brackets around ' +
      'the list are allowed.',
    convert: schemeList,
  },
  {
    section: 'import_filtering_opts',
    name: 'disallowed_schemes',
    type: 'list',
    default: '',
    help: 'URL schemes web-download refuses; only consulted when allowed_schemes is empty.',
    convert: schemeList,
  },
  {
    section: 'import_filtering_opts',
    name: 'allowed_hosts',
    type: 'list',
    default: '',
    help:
      'Host names or IP addresses web-download may fetch from (as in the URL, without port). When this list ' +
      'is not empty it is the only host check and disallowed_hosts is ignored.',
    convert: hostList,
  },
  {
    section: 'import_filtering_opts',
    name: 'disallowed_hosts',
    type: 'list',
    default: '',
    help: 'Host names or IP addresses web-download refuses; only consulted when allowed_hosts is empty.',
    convert: hostList,
  },
  {
    section: 'import_filtering_opts',
    name: 'allowed_ports',
    type: 'list',
    default: '80,443',
    help:
      'TCP ports (1-65535) web-download may fetch from. As in Glance, only a port written in the URL is ' +
      'checked: a URL without one passes. When this list is not empty it is the only port check and ' +
      'disallowed_ports is ignored. Brackets are allowed: [80,443].',
    convert: portList,
  },
  {
    section: 'import_filtering_opts',
    name: 'disallowed_ports',
    type: 'list',
    default: '',
    help: 'TCP ports web-download refuses; only consulted when allowed_ports is empty.',
    convert: portList,
  },
  {
    section: 'import_filtering_opts',
    name: 'allow_private_networks',
    type: 'boolean',
    default: 'false',
    help:
      'Iris only. Whether web-download may connect to private and other non-public addresses (10/8, ' +
      '172.16/12, 192.168/16, fc00::/7, 100.64/10, reserved ranges). When false (the default) such addresses ' +
      'are refused whatever the lists above allow: the check is made on the address actually connected to, ' +
      'after name resolution, for the first request and for every redirect, so a public name that resolves to ' +
      'an internal address, or a redirect to one, is refused too. Set it to true only when images are ' +
      'downloaded from an internal network. Loopback, link-local (cloud metadata), unspecified, multicast ' +
      'and broadcast addresses stay refused even then (see allow_loopback). (Glance refuses only loopback ' +
      'and link-local addresses, and none for a host in allowed_hosts.)',
  },
  {
    section: 'import_filtering_opts',
    name: 'allow_loopback',
    type: 'boolean',
    default: 'false',
    help:
      'Iris only, for development and tests: also let web-download connect to loopback addresses ' +
      '(127.0.0.0/8, ::1), e.g. an image server on the same host. Never enable it in production: loopback ' +
      'reaches services that trust local callers.',
  },
] as const satisfies readonly ConfigOption[];
