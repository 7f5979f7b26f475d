/** The [cors] section's rows of the option table (see ../config-options.ts). */
import type { ConfigOption } from '../option-types.js';

export const CORS_OPTIONS = [
  {
    section: 'cors',
    name: 'allowed_origin',
    type: 'list',
    default: '',
    help:
      'Origins (scheme://host[:port], no trailing slash) whose browser requests may read the API\'s answers, ' +
      'as oslo.middleware\'s CORS filter in Glance\'s pipeline; `*` allows any origin. Empty: no CORS headers ' +
      'are ever sent. A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered 200 ' +
      'before authentication; OPTIONS is answered 200 on every path, as in Glance.',
  },
  {
    section: 'cors',
    name: 'allow_credentials',
    type: 'boolean',
    default: 'true',
    help: 'Send Access-Control-Allow-Credentials: true to allowed origins, so browsers may send credentials.',
  },
  {
    section: 'cors',
    name: 'expose_headers',
    type: 'list',
    default: 'X-Image-Meta-Checksum,X-Auth-Token,X-Subject-Token,X-Service-Token,X-OpenStack-Request-ID',
    help: "Response headers a browser script of an allowed origin may read (Access-Control-Expose-Headers); Glance's defaults.",
  },
  {
    section: 'cors',
    name: 'max_age',
    type: 'integer',
    default: '3600',
    min: 0,
    help: 'How long (seconds) a browser may cache a preflight answer (Access-Control-Max-Age); 0 sends no such header.',
  },
  {
    section: 'cors',
    name: 'allow_methods',
    type: 'list',
    default: 'GET,PUT,POST,DELETE,PATCH',
    help: "Methods a preflight may ask for (compared case-sensitively, as oslo.middleware does); Glance's defaults.",
  },
  {
    section: 'cors',
    name: 'allow_headers',
    type: 'list',
    default:
      'Content-MD5,X-Image-Meta-Checksum,X-Storage-Token,Accept-Encoding,X-Auth-Token,X-Identity-Status,X-Roles,' +
      'X-Service-Catalog,X-User-Id,X-Tenant-Id,X-OpenStack-Request-ID',
    help:
      "Request headers a preflight may ask for besides the simple ones (Accept, Accept-Language, Content-Type, " +
      "Cache-Control, Content-Language, Expires, Last-Modified, Pragma); compared case-insensitively; Glance's defaults.",
  },
] as const satisfies readonly ConfigOption[];
