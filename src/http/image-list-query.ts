/**
 * Parsing of `GET /v2/images` query parameters into the image service's typed list request, with Glance's
 * validation rules and messages (glance/api/v2/images.py RequestDeserializer.index and
 * glance/db/sqlalchemy/api.py _make_conditions_from_filters).
 */
import { Invalid } from '../domain/errors.js';
import { VISIBILITIES, type Visibility } from '../domain/image.js';
import {
  SORT_KEYS,
  type ComparisonOp,
  type ImageFilters,
  type MemberStatus,
  type OneOrMany,
  type SortDir,
  type SortKey,
  type TimeFilter,
} from '../domain/ports.js';
import type { ListRequest } from '../services/images.js';

const COMPARISON_OPS: readonly string[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'];
const CORE_COLUMNS = new Set([
  'name', 'id', 'status', 'container_format', 'disk_format', 'owner', 'visibility',
  'checksum', 'os_hash_value', 'os_hash_algo', 'size', 'virtual_size', 'min_ram', 'min_disk',
  'protected', 'os_hidden', 'created_at', 'updated_at',
]);

/** ISO 8601 as oslo's parse_isotime accepts it (date, optional time, optional zone). */
function parseIsoTime(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(value.trim());
  if (!m) return null;
  // Groups 1-3 always participate in a match; their defaults never apply.
  const [, y = '', mo = '', d = '', h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, ms) - offsetMin * 60_000;
  const date = new Date(t);
  if (Number.isNaN(t) || +mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || +s > 60) return null;
  return date;
}

/** Glance's split_filter_op: `op:value`, except that a bare ISO time keeps its colons. */
function splitFilterOp(expression: string): { op: string; value: string } {
  const i = expression.indexOf(':');
  if (i < 0) return { op: 'eq', value: expression };
  if (parseIsoTime(expression)) return { op: 'eq', value: expression };
  return { op: expression.slice(0, i), value: expression.slice(i + 1) };
}

/** Glance's split_filter_value_for_quotes: comma list where "quoted, values" keep commas. */
export function splitInList(value: string): string[] {
  let open = false;
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '"' || (i > 0 && value[i - 1] === '\\')) continue;
    if (!open && i > 0 && value[i - 1] !== ',') {
      throw new Invalid(`Invalid filter value ${value}. There is no comma before opening quotation mark.`);
    }
    if (open && i + 1 !== value.length && value[i + 1] !== ',') {
      throw new Invalid(`Invalid filter value ${value}. There is no comma after closing quotation mark.`);
    }
    open = !open;
  }
  if (open) throw new Invalid(`Invalid filter value ${value}. The quote is not closed.`);
  const out: string[] = [];
  const re = /"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,/g;
  for (let m = re.exec(value); m !== null && m[0] !== ''; m = re.exec(value)) {
    out.push(m[1] ?? m[2] ?? '');
  }
  return out;
}

function oneOrMany(key: string, expression: string): OneOrMany<string> {
  const { op, value } = splitFilterOp(expression);
  if (op === 'in') return { in: splitInList(value) };
  if (op === 'eq') return { eq: value };
  throw new Invalid(`Unable to filter by unknown operator '${op}'.`);
}

function timeFilter(key: string, expression: string): TimeFilter {
  const { op, value } = splitFilterOp(expression);
  const when = parseIsoTime(value);
  if (!when) throw new Invalid(`Bad "${key}" query filter format. Use ISO 8601 DateTime notation.`);
  if (!COMPARISON_OPS.includes(op)) throw new Invalid('Unable to filter on a unknown operator.');
  return { op: op as ComparisonOp, value: when };
}

function rangeValue(value: string): number {
  const n = /^\s*[+-]?\d+\s*$/.test(value) ? Number.parseInt(value, 10) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new Invalid('Unable to filter on a range with a non-numeric value.');
  return n;
}

function boolFilter(name: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v !== 'true' && v !== 'false') {
    throw new Invalid(`Invalid value '${value}' for '${name}' filter. Valid values are 'true' or 'false'.`);
  }
  return v === 'true';
}

function sortKey(key: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    throw new Invalid(`Invalid sort key: ${key}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
  }
  return key as SortKey;
}

function sortDir(dir: string): SortDir {
  if (dir !== 'asc' && dir !== 'desc') throw new Invalid(`Invalid sort direction: ${dir}`);
  return dir;
}

/** Parses the query string pairs (in order, repeated keys kept) of a list request. */
export function parseListRequest(pairs: readonly (readonly [string, string])[]): ListRequest {
  const params = pairs.map(([k, v]) => [k, v] as [string, string]);
  const take = (key: string): string | undefined => {
    const i = params.findIndex(([k]) => k === key);
    if (i < 0) return undefined;
    const [, v] = params.splice(i, 1)[0]!;
    return v;
  };
  const takeAll = (key: string): string[] => {
    const out: string[] = [];
    for (let v = take(key); v !== undefined; v = take(key)) out.push(v);
    return out;
  };

  const limitText = takeAll('limit').pop();
  const marker = takeAll('marker').pop();
  const memberStatusText = takeAll('member_status').pop() ?? 'accepted';
  const tags = takeAll('tag').map((t) => t.trim());

  let limit: number | undefined;
  if (limitText !== undefined) {
    if (!/^\s*[+-]?\d+\s*$/.test(limitText)) throw new Invalid('limit param must be an integer');
    limit = Number.parseInt(limitText, 10);
    if (limit < 0) throw new Invalid('limit param must be positive');
  }
  if (!['pending', 'accepted', 'rejected', 'all'].includes(memberStatusText)) {
    throw new Invalid(`Invalid status: ${memberStatusText}`);
  }

  // Sorting: `sort=k:d,k2` (new) or repeated sort_key/sort_dir (classic), never both.
  const sort: { key: SortKey; dir: SortDir }[] = [];
  const hasSort = params.some(([k]) => k === 'sort');
  if (hasSort) {
    if (params.some(([k]) => k === 'sort_key' || k === 'sort_dir')) {
      throw new Invalid('Old and new sorting syntax cannot be combined');
    }
    const spec = takeAll('sort')[0]!;
    for (const part of spec.trim().split(',')) {
      const i = part.indexOf(':');
      const key = (i < 0 ? part : part.slice(0, i)).trim();
      const dir = i < 0 || part.slice(i + 1) === '' ? 'desc' : part.slice(i + 1).trim();
      sort.push({ key: sortKey(key), dir: sortDir(dir) });
    }
  } else {
    const keys = takeAll('sort_key').map((k) => sortKey(k.trim()));
    const dirs = takeAll('sort_dir').map((d) => sortDir(d.trim()));
    if (dirs.length > 1 && dirs.length !== keys.length) {
      throw new Invalid('Number of sort dirs does not match the number of sort keys');
    }
    if (keys.length === 0) keys.push('created_at');
    keys.forEach((key, i) => sort.push({ key, dir: dirs.length > 1 ? dirs[i]! : (dirs[0] ?? 'desc') }));
  }

  // Remaining parameters are filters; for a repeated key the last value counts (webob MultiDict).
  const remaining = new Map<string, string>();
  for (const [k, v] of params) remaining.set(k, v);

  let visibility: Visibility | 'all' | undefined;
  const vis = remaining.get('visibility');
  remaining.delete('visibility');
  if (vis) {
    if (vis !== 'all' && !(VISIBILITIES as readonly string[]).includes(vis)) {
      throw new Invalid(`Invalid visibility value: ${vis}`);
    }
    visibility = vis as Visibility | 'all';
  }
  if (remaining.get('changes-since')) throw new Invalid('The "changes-since" filter is no longer available on v2.');
  remaining.delete('changes-since');

  const filters: {
    -readonly [K in keyof ImageFilters]: ImageFilters[K];
  } = {};
  const properties: Record<string, string> = {};
  const columns: Record<string, string> = {};
  const hidden = remaining.get('os_hidden');
  remaining.delete('os_hidden');
  filters.os_hidden = boolFilter('os_hidden', hidden ?? 'false');
  const prot = remaining.get('protected');
  remaining.delete('protected');
  if (prot !== undefined) filters.protected = boolFilter('protected', prot);
  if (tags.length > 0) filters.tags = tags;

  for (const [key, value] of remaining) {
    switch (key) {
      case 'name':
      case 'id':
      case 'status':
      case 'container_format':
      case 'disk_format':
        filters[key] = oneOrMany(key, value);
        break;
      case 'owner':
        filters.owner = { eq: value };
        break;
      case 'size_min':
        filters.size_min = rangeValue(value);
        break;
      case 'size_max':
        filters.size_max = rangeValue(value);
        break;
      case 'created_at':
      case 'updated_at':
        filters[key] = [timeFilter(key, value)];
        break;
      default:
        if (key.endsWith('_min') || key.endsWith('_max')) {
          // Glance turns any other *_min/*_max into a column range and fails on non-columns;
          // only size has a meaning on images.
          rangeValue(value);
          throw new Invalid(`Invalid filter: ${key}`);
        }
        if (CORE_COLUMNS.has(key)) {
          // Other core columns compared by equality (checksum, os_hash_value, min_ram…).
          columns[key] = value;
        } else {
          properties[key] = value;
        }
    }
  }
  if (Object.keys(properties).length > 0) filters.properties = properties;
  if (Object.keys(columns).length > 0) filters.columns = columns;
  return { limit, marker, memberStatus: memberStatusText as MemberStatus | 'all', visibility, filters, sort };
}
