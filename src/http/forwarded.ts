/**
 * The scheme and host a client used, as a reverse proxy reports them (oslo.middleware's
 * http_proxy_to_wsgi, on in Glance with `[oslo_middleware] enable_proxy_headers_parsing`): the
 * first element of RFC 7239 `Forwarded` when that header is present, else `X-Forwarded-Proto`
 * and `X-Forwarded-Host`. Values that could not be a scheme or a host are ignored, so a
 * malformed header never ends up in a Location header.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface ForwardedOrigin {
  readonly proto?: 'http' | 'https';
  readonly host?: string;
}

const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::\d{1,5})?$/;

function first(value: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined?.split(',')[0]?.trim();
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

function origin(proto: string | undefined, host: string | undefined): ForwardedOrigin {
  const p = proto?.toLowerCase();
  return {
    ...(p === 'http' || p === 'https' ? { proto: p } : {}),
    ...(host !== undefined && HOST.test(host) ? { host } : {}),
  };
}

/**
 * @example
 *   forwardedOrigin({ forwarded: 'for=192.0.2.60;proto=https;host=images.example.com' });
 *   // { proto: 'https', host: 'images.example.com' }
 */
export function forwardedOrigin(headers: IncomingHttpHeaders): ForwardedOrigin {
  const forwarded = first(headers.forwarded);
  if (forwarded !== undefined && forwarded !== '') {
    const params = new Map<string, string>();
    for (const pair of forwarded.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) params.set(pair.slice(0, eq).trim().toLowerCase(), unquote(pair.slice(eq + 1).trim()));
    }
    return origin(params.get('proto'), params.get('host'));
  }
  return origin(first(headers['x-forwarded-proto']), first(headers['x-forwarded-host']));
}
