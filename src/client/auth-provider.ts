/**
 * Where requests go and which credentials they carry. The transport asks for both before
 * every request, so a provider can cache, look up a catalog lazily, or renew a token.
 */
import { IrisClientError } from './errors.js';

export interface AuthProvider {
  /** Base URL of the Images API: no trailing slash and no `/v2`. */
  endpoint(signal?: AbortSignal): Promise<string>;
  /** Headers that carry the credentials (may be empty). */
  headers(signal?: AbortSignal): Promise<Readonly<Record<string, string>>>;
  /**
   * Called when the image service answered 401. Drops a cached token and returns true when a
   * fresh one could help (the request is then sent once more); false for fixed credentials.
   */
  invalidate(): boolean;
}

/**
 * An endpoint as the OpenStack clients accept it: `http://host:9292`, `http://host:9292/`,
 * `http://host:9292/v2` or `http://host/image/v2.1` all mean the same API root (glanceclient
 * strips a trailing version the same way).
 *
 * @example normalizeEndpoint('http://127.0.0.1:9292/v2/') // 'http://127.0.0.1:9292'
 */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new IrisClientError('InvalidOptions', `Invalid image endpoint URL: ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new IrisClientError('InvalidOptions', `Image endpoint must be http(s): ${endpoint}`);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v\d+(\.\d+)?$/, '');
  return `${url.origin}${path}`;
}

/** Fixed credentials: a token the caller owns, or none at all. */
export function staticAuth(endpoint: string, token?: string): AuthProvider {
  const base = normalizeEndpoint(endpoint);
  const headers: Readonly<Record<string, string>> = Object.freeze(token ? { 'X-Auth-Token': token } : ({} as Record<string, string>));
  return {
    endpoint: async () => base,
    headers: async () => headers,
    invalidate: () => false,
  };
}
