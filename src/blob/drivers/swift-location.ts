/**
 * Swift image locations in glance_store's own form, so a database carried over from Glance
 * resolves in Iris and the other way round:
 *
 *   swift+http://USER:KEY@AUTH_ADDRESS_WITHOUT_SCHEME/CONTAINER/OBJECT   (credentials inline)
 *   swift+https://…  and  swift://…  (the same, auth over https)
 *   swift+config://REFERENCE/CONTAINER/OBJECT   (credentials in swift_store_config_file)
 *
 * e.g. `swift+http://test%3Atester:testing@127.0.0.1:8080/auth/v1.0/glance/<image id>`. The
 * credentials are percent-encoded as Python's `urllib.parse.quote` does (`/` kept), and parsed
 * back as glance_store's StoreLocation parses them (but a quoted colon inside the key stays in it).
 */
import { Invalid } from '../../domain/errors.js';

export const SWIFT_SCHEMES = ['swift', 'swift+http', 'swift+https', 'swift+config'] as const;
export type SwiftScheme = (typeof SWIFT_SCHEMES)[number];

export type SwiftLocation =
  | {
      readonly kind: 'inline';
      readonly scheme: Exclude<SwiftScheme, 'swift+config'>;
      /** The auth address with its scheme, as a client uses it (glance_store's `swift_url`). */
      readonly authAddress: string;
      readonly user?: string | undefined;
      readonly key?: string | undefined;
      readonly container: string;
      readonly object: string;
    }
  | {
      readonly kind: 'reference';
      readonly scheme: 'swift+config';
      /** A section of swift_store_config_file. */
      readonly reference: string;
      readonly container: string;
      readonly object: string;
    };

/** Python's `urllib.parse.quote(s)`: everything but letters, digits, `_.-~` and `/` escaped. */
export function pyQuote(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}

/** The location of an object written with inline credentials (no swift_store_config_file). */
export function inlineLocation(authAddress: string, user: string, key: string, container: string, object: string): string {
  const scheme = authAddress.startsWith('http://') ? 'swift+http' : 'swift+https';
  const address = authAddress.replace(/^https?:\/\//, '').replace(/^\/+|\/+$/g, '');
  return `${scheme}://${pyQuote(user)}:${pyQuote(key)}@${address}/${trimSlashes(container)}/${trimSlashes(object)}`;
}

/** The location of an object written with credentials from a reference of swift_store_config_file. */
export function referenceLocation(reference: string, container: string, object: string): string {
  return `swift+config://${reference}/${trimSlashes(container)}/${trimSlashes(object)}`;
}

/**
 * Parses a swift location as glance_store's StoreLocation.parse_uri does.
 * @throws Invalid for another scheme or a malformed URI (Glance's BadStoreUri).
 */
export function parseSwiftLocation(uri: string): SwiftLocation {
  // Glance refuses swift://user:pass@http://host/… (two schemes) outright.
  if (uri.split('://').length !== 2) throw new Invalid('URI cannot contain more than one occurrence of a scheme');
  const sep = uri.indexOf('://');
  const scheme = uri.slice(0, sep);
  if (!(SWIFT_SCHEMES as readonly string[]).includes(scheme)) throw new Invalid(`Not a swift location: ${uri}`);
  const rest = uri.slice(sep + 3).replace(/[?#].*$/, '');
  const slash = rest.indexOf('/');
  let netloc = slash < 0 ? rest : rest.slice(0, slash);
  const path = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+/, '');

  if (scheme === 'swift+config') {
    const parts = path.split('/');
    const object = parts.pop();
    const container = parts.pop();
    if (!netloc || !object || !container || parts.length > 0) throw new Invalid('Badly formed Swift URI');
    return { kind: 'reference', scheme, reference: netloc, container, object };
  }

  let user: string | undefined;
  let key: string | undefined;
  const at = netloc.lastIndexOf('@');
  if (at >= 0) {
    // Split on the colons as written, then unquote: Glance quotes the colons inside user and
    // key, so `test%3Atester:p%3Aw` is user `test:tester`, key `p:w`. Unquoted colons
    // (`swift://account:user:pass@…`) leave the key after the last one, as in Glance.
    const parts = netloc.slice(0, at).split(':');
    netloc = netloc.slice(at + 1);
    if (parts.length < 2) throw new Invalid('Badly formed credentials in Swift URI');
    key = decodeURIComponentSafe(parts.pop()!);
    user = decodeURIComponentSafe(parts.join(':'));
  }
  const parts = path.split('/');
  const object = parts.pop();
  const container = parts.pop();
  if (!netloc || !object || !container) throw new Invalid('Badly formed Swift URI');
  const address = [netloc, ...parts].join('/');
  const authAddress = `${scheme === 'swift+http' ? 'http' : 'https'}://${address}`;
  return { kind: 'inline', scheme: scheme as Exclude<SwiftScheme, 'swift+config'>, authAddress, user, key, container, object };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new Invalid('Badly formed credentials in Swift URI');
  }
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
