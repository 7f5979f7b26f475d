/**
 * Glance's two ways of raising an HTTP error, which webob renders differently. A check that
 * raises `HTTPxxx(msg)` gets webob's stock explanation first and the message after it as the
 * "detail" (`403 Forbidden\n\nAccess was denied to this resource.\n\n Attribute 'deleted' is
 * reserved.  `); `HTTPxxx(explanation=msg)`, Glance's usual form, puts the message in place
 * of the explanation (`403 Forbidden\n\n<message>\n\n   `). The domain names the check that
 * refused (IrisError.check); this table says which form Glance uses for it.
 */
import type { GlanceCheck, IrisError } from '../domain/errors.js';

/** The checks Glance raises as `HTTPxxx(msg)` (glance/api/v2/images.py, keystonemiddleware). */
const DETAIL_STYLE: Readonly<Record<GlanceCheck, boolean>> = {
  'create-reserved-attribute': true,
  'patch-empty-locations': true,
  'patch-last-location': true,
  'patch-owner-by-non-admin': true,
  'patch-missing-property': true,
  'patch-existing-property': true,
  'patch-core-attribute-removal': true,
  'keystone-unavailable': true,
};

/** True when Glance shows this error's message as webob's detail, after the stock explanation. */
export function isDetailStyle(error: IrisError): boolean {
  return error.check !== undefined && DETAIL_STYLE[error.check];
}
