/**
 * Glance's `[import_filtering_opts]` URI filter for the web-download import method, as
 * glance/common/utils.py `get_validated_address` / `validate_uri` apply it (Glance 25.1.0).
 *
 * This is the pure part: scheme, host and port lists. The part that needs DNS (an unresolvable
 * host, the resolved addresses) runs at connect time in `web-fetch.ts`, which also applies
 * {@link filterDeniesAddress} to every resolved address.
 *
 * Where Iris differs from Glance, it is stricter or only normalises configuration:
 * - list entries are compared case-insensitively, a trailing dot on a host name is ignored, and
 *   IP entries are compared in canonical form (`::FFFF:127.0.0.1` matches `::ffff:7f00:1`);
 *   Glance compares the raw strings, so `evil.example.` slips past `disallowed_hosts=evil.example`.
 * - the URI is parsed the way the fetcher parses it (WHATWG URL, as undici does), so the filter
 *   and the connection can never disagree on the host; a URI the two parsers would read
 *   differently is refused.
 */
import { isIP } from 'node:net';

/** The six `[import_filtering_opts]` options. An empty allow list means "not configured". */
export interface ImportFilterOptions {
  /** `allowed_schemes`: when non-empty, only these schemes pass and `disallowedSchemes` is ignored. */
  readonly allowedSchemes: readonly string[];
  /** `disallowed_schemes`: schemes refused, used only while `allowedSchemes` is empty. */
  readonly disallowedSchemes: readonly string[];
  /** `allowed_hosts`: when non-empty, only these hosts pass and `disallowedHosts` is ignored. */
  readonly allowedHosts: readonly string[];
  /** `disallowed_hosts`: host names or IPs refused, used only while `allowedHosts` is empty. */
  readonly disallowedHosts: readonly string[];
  /** `allowed_ports`: when non-empty, only these explicit ports pass and `disallowedPorts` is ignored. */
  readonly allowedPorts: readonly number[];
  /** `disallowed_ports`: explicit ports refused, used only while `allowedPorts` is empty. */
  readonly disallowedPorts: readonly number[];
}

/** Glance's defaults: http and https, any host, explicit ports 80 and 443 only. */
export const DEFAULT_IMPORT_FILTER: ImportFilterOptions = Object.freeze({
  allowedSchemes: Object.freeze(['http', 'https']),
  disallowedSchemes: Object.freeze([]),
  allowedHosts: Object.freeze([]),
  disallowedHosts: Object.freeze([]),
  allowedPorts: Object.freeze([80, 443]),
  disallowedPorts: Object.freeze([]),
});

// `scheme://authority`: the authority ends where WHATWG ends it for http(s) (`\` counts as `/`).
const RAW_AUTHORITY = /^([a-z][a-z0-9+.-]*):\/\/([^/\\?#]*)/i;

/**
 * Whether `uri` passes the scheme, host and port filters.
 *
 * Rules (Glance's, in its order):
 * - an allow list, when non-empty, wins: its deny list is then ignored entirely;
 * - scheme: refused unless in `allowedSchemes` (when set), or when in `disallowedSchemes`;
 * - host: an empty host is refused; so is an IPv4 address spelled any way other than plain
 *   dotted-quad (`2130706433`, `0x7f.1`, `127.1`, `0177.0.0.1`), which Glance refuses rather than
 *   normalises; otherwise refused unless in `allowedHosts` (when set), or when in `disallowedHosts`;
 * - port: only an explicit port is filtered. A URI without one passes the port lists, exactly as
 *   in Glance (which checks `urlparse().port` only when it is set, and uses the scheme's default
 *   port only to resolve the host). So `http://host/` passes even with `allowed_ports=[8080]`,
 *   while `http://host:80/` is filtered like any other explicit port.
 *
 * Host names are not resolved here; `openWebDownload` does that and refuses unresolvable hosts.
 *
 * @returns true when the URI passes.
 * @example
 * validateImportUri('https://cloud-images.example/jammy.img', DEFAULT_IMPORT_FILTER); // true
 * validateImportUri('http://mirror.example:8080/x.img', DEFAULT_IMPORT_FILTER); // false: port
 */
export function validateImportUri(uri: string, opts: ImportFilterOptions): boolean {
  const raw = RAW_AUTHORITY.exec(uri);
  // No `//authority`: Glance's urlparse finds no host there (WHATWG would still find one).
  if (!raw) return false;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }

  const scheme = url.protocol.slice(0, -1);
  const allowedSchemes = lowered(opts.allowedSchemes);
  const deniedSchemes = allowedSchemes.length > 0 ? [] : lowered(opts.disallowedSchemes);
  if (allowedSchemes.length > 0 && !allowedSchemes.includes(scheme)) return false;
  if (deniedSchemes.includes(scheme)) return false;

  const host = hostOf(url);
  if (host === '') return false;
  const { host: rawHost, port: rawPort } = splitAuthority(raw[2] ?? '');
  // WHATWG turns `2130706433`, `0x7f.1`, `127.1` into 127.0.0.1; Glance refuses such spellings.
  if (isIP(host) === 4 && rawHost.toLowerCase() !== host) return false;

  const allowedHosts = opts.allowedHosts.map(canonicalHost);
  const deniedHosts = allowedHosts.length > 0 ? [] : opts.disallowedHosts.map(canonicalHost);
  const key = canonicalHost(host);
  if (allowedHosts.length > 0 && !allowedHosts.includes(key)) return false;
  if (deniedHosts.includes(key)) return false;

  if (rawPort !== '') {
    const port = Number(rawPort);
    // Both parsers must agree on the port (WHATWG drops a default one: `:80` on http is '').
    if (!/^[0-9]+$/.test(rawPort) || port !== effectivePort(url)) return false;
    const allowedPorts = opts.allowedPorts;
    const deniedPorts = allowedPorts.length > 0 ? [] : opts.disallowedPorts;
    if (allowedPorts.length > 0 && !allowedPorts.includes(port)) return false;
    if (deniedPorts.includes(port)) return false;
  }
  return true;
}

/**
 * Whether a resolved address is refused by `disallowed_hosts` IP entries. Glance checks these
 * against every resolved address too, so a host name cannot dodge an IP on the deny list; like
 * the host deny list itself, they are ignored while `allowed_hosts` is set.
 *
 * @example
 * filterDeniesAddress('93.184.216.34', { ...DEFAULT_IMPORT_FILTER, disallowedHosts: ['93.184.216.34'] }); // true
 */
export function filterDeniesAddress(address: string, opts: ImportFilterOptions): boolean {
  if (opts.allowedHosts.length > 0 || isIP(address) === 0) return false;
  const key = canonicalHost(address);
  return opts.disallowedHosts.some((entry) => canonicalHost(entry) === key);
}

/** The URL's host without IPv6 brackets, as undici hands it to the connector. */
export function hostOf(url: URL): string {
  const { hostname } = url;
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** The port a connection to `url` goes to: the explicit one, else the scheme's default. */
export function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function lowered(values: readonly string[]): string[] {
  return values.map((value) => value.toLowerCase());
}

// Host and port as written in the raw authority: after the last `@`, IPv6 brackets kept apart.
function splitAuthority(authority: string): { host: string; port: string } {
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    const rest = end === -1 ? '' : hostPort.slice(end + 1);
    return { host: hostPort.slice(1, end === -1 ? undefined : end), port: rest.startsWith(':') ? rest.slice(1) : '' };
  }
  const colon = hostPort.indexOf(':');
  return colon === -1
    ? { host: hostPort, port: '' }
    : { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}

// One spelling per host: lower case, no trailing dot, IPv6 in WHATWG's compressed form.
function canonicalHost(value: string): string {
  let host = value.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIP(host) === 6) {
    try {
      return hostOf(new URL(`http://[${host}]/`));
    } catch {
      return host;
    }
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
