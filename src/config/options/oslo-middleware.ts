/** The [oslo_middleware] section's rows of the option table (see ../config-options.ts). */
import type { ConfigOption } from '../option-types.js';

export const OSLO_MIDDLEWARE_OPTIONS = [
  {
    section: 'oslo_middleware',
    name: 'enable_proxy_headers_parsing',
    type: 'boolean',
    default: 'false',
    help:
      'Behind a proxy or load balancer that sets them (HAProxy, see docs/deployment.md): build the links the ' +
      'API returns (version list, Location headers) from the Forwarded header (proto, host), or else from ' +
      'X-Forwarded-Proto and X-Forwarded-Host, as oslo.middleware\'s http_proxy_to_wsgi in Glance\'s ' +
      'pipeline (X-Forwarded-Prefix is not used). Only for a proxy that sets or strips these headers: clients must ' +
      'not be able to choose them. public_endpoint, when set, wins over them.',
  },
] as const satisfies readonly ConfigOption[];
