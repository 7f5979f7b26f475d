/**
 * The converters of option values: oslo.config's syntaxes (booleans, integers, lists, sizes,
 * DictOpt) and the checks a value goes through after them (URLs, hosts, ports, names from a
 * fixed list). Each throws an Error whose message is only the reason; the loader says where the
 * value came from. The option table (config-options.ts) names them; it holds no parser itself.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

/** oslo.config booleans: true/false, yes/no, on/off, 1/0, any case. */
export function parseBoolean(raw: string): boolean {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new Error(`${JSON.stringify(raw)} is not a boolean (use true/false, yes/no, on/off or 1/0)`);
}

/** Strict integers: optional sign and decimal digits only, within the safe range and the bounds. */
export function parseInteger(raw: string, min?: number, max?: number): number {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`${JSON.stringify(raw)} is not an integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${text} is too large`);
  if (min !== undefined && value < min) throw new Error(`${value} is less than the minimum ${min}`);
  if (max !== undefined && value > max) throw new Error(`${value} is more than the maximum ${max}`);
  return value;
}

/**
 * Comma-separated list, items trimmed, empty items dropped (so "" is the empty list). As in
 * oslo.config's bracketed lists, one pair of surrounding brackets is removed
 * (`[glance-direct,web-download]`), and one pair of matching quotes around an item.
 */
export function parseList(raw: string): string[] {
  let text = raw.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  return text
    .split(',')
    .map((item) => unquoteItem(item.trim()))
    .filter((item) => item !== '');
}

/** One pair of matching quotes around a list item removed (oslo.config). */
export function unquoteItem(item: string): string {
  if (item.length >= 2 && (item[0] === '"' || item[0] === "'") && item.at(-1) === item[0]) return item.slice(1, -1).trim();
  return item;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Glance's user_storage_quota syntax: digits with an optional 1024-based unit, to bytes. */
export function parseSize(raw: string): number {
  const match = /^(\d+)\s*([KMGT]?B)?$/i.exec(raw.trim());
  if (match === null) {
    throw new Error(`${JSON.stringify(raw)} is not a size (a number of bytes, optionally with unit B, KB, MB, GB or TB)`);
  }
  // The pattern admits only the units SIZE_UNITS lists.
  const bytes = Number(match[1]) * SIZE_UNITS[(match[2] ?? 'B').toUpperCase()]!;
  if (!Number.isSafeInteger(bytes)) throw new Error(`${JSON.stringify(raw)} is too large`);
  return bytes;
}

/** An http:// or https:// URL, as given. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${JSON.stringify(value)} must be an http:// or https:// URL`);
  }
  return value;
}

const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/** The facility number of `LOG_LOCAL0` or `local0` (oslo.log accepts both); throws an Error naming the choices. */
export function syslogFacility(name: string): number {
  const key = name.trim().toLowerCase().replace(/^log_/, '');
  const code = SYSLOG_FACILITIES[key];
  if (code === undefined) {
    throw new Error(`${JSON.stringify(name)} is not a syslog facility (LOG_USER, LOG_DAEMON, LOG_LOCAL0 … LOG_LOCAL7, …)`);
  }
  return code;
}

/** Image attributes and API fields an injected property must not shadow. */
const NOT_INJECTABLE = new Set([
  'checksum', 'container_format', 'created_at', 'deleted', 'deleted_at', 'direct_url', 'disk_format', 'file', 'id',
  'location', 'locations', 'min_disk', 'min_ram', 'name', 'os_hash_algo', 'os_hash_value', 'os_hidden', 'owner',
  'protected', 'schema', 'self', 'size', 'status', 'stores', 'tags', 'updated_at', 'virtual_size', 'visibility',
]);

/**
 * oslo.config's DictOpt syntax: `key:value` pairs separated by commas, each key and value
 * trimmed, the value everything after the first colon (it may be empty); '' is the empty dict.
 * Throws an Error whose message is the reason: a pair without a colon, an empty or duplicate
 * key (as oslo.config), a key over 255 characters or naming an image attribute (Iris).
 */
export function parseInjectedProperties(raw: string): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    const colon = pair.indexOf(':');
    if (colon < 0) throw new Error(`${JSON.stringify(pair.trim())} is not key:value (write k1:v1,k2:v2)`);
    const key = pair.slice(0, colon).trim();
    const value = pair.slice(colon + 1).trim();
    if (key === '') throw new Error(`${JSON.stringify(pair.trim())} has an empty key`);
    if (Object.hasOwn(out, key)) throw new Error(`key ${JSON.stringify(key)} is given twice`);
    if (key.length > 255) throw new Error(`key ${JSON.stringify(key.slice(0, 20))}... is longer than 255 characters`);
    if (NOT_INJECTABLE.has(key)) throw new Error(`key ${JSON.stringify(key)} is an image attribute, not a property`);
    out[key] = value;
  }
  return out;
}

/** The directory of a `file://` staging URI ([DEFAULT] node_staging_uri); throws an Error with the reason. */
export function stagingPathFromUri(uri: string): string {
  if (!uri.startsWith('file://')) {
    throw new Error(`${JSON.stringify(uri)} must start with file:// (for example file:///var/lib/iris/staging)`);
  }
  const path = uri.slice('file://'.length);
  if (!path.startsWith('/')) {
    throw new Error(`${JSON.stringify(uri)} must be file:// followed by an absolute path (for example file:///var/lib/iris/staging)`);
  }
  return resolve(path);
}

/** A list of TCP port numbers (1-65535, as Glance's import filtering accepts). */
export function portList(value: readonly string[]): number[] {
  return value.map((item) => {
    try {
      return parseInteger(item, 1, 65535);
    } catch (error) {
      throw new Error(`port ${JSON.stringify(item)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

/** URL schemes, lower-cased (as URL parsers report them). */
export function schemeList(value: readonly string[]): string[] {
  return value.map((item) => {
    if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(item)) throw new Error(`${JSON.stringify(item)} is not a URL scheme`);
    return item.toLowerCase();
  });
}

/** Host names or IP addresses, lower-cased; IPv6 addresses without brackets. */
export function hostList(value: readonly string[]): string[] {
  return value.map((item) => {
    const host = item.startsWith('[') && item.endsWith(']') ? item.slice(1, -1) : item;
    if (isIP(host) === 0 && !/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/.test(host)) {
      throw new Error(`${JSON.stringify(item)} is not a host name or IP address (give no scheme, port or path)`);
    }
    return host.toLowerCase();
  });
}

/** A list option's convert: every name must be one of `known`; duplicates are dropped. */
export function namesFrom(what: string, plural: string, known: readonly string[]): (value: readonly string[]) => string[] {
  return (value) => {
    const unknown = value.filter((name) => !known.includes(name));
    if (unknown.length > 0) throw new Error(`unknown ${what} ${unknown.join(', ')} (the ${plural} are ${known.join(', ')})`);
    return [...new Set(value)];
  };
}

/** Whether `value` is one of `choices` (narrowing it to their type, for the rows' checks). */
export function isOneOf<T extends string>(value: string, choices: readonly T[]): value is T {
  return (choices as readonly string[]).includes(value);
}

/** auth_type of the Keystone clients ([keystone_authtoken], [oslo_limit]): only password is supported. */
export function passwordAuthType(value: string): 'password' {
  if (value !== 'password') throw new Error(`auth_type ${JSON.stringify(value)} is not supported; use password`);
  return value;
}
