/**
 * Parsing of `GET /v2/tasks` query parameters into the task service's typed list request,
 * with Glance's rules and messages (glance/api/v2/tasks.py RequestDeserializer.index).
 */
import { Invalid } from '../domain/errors.js';
import {
  TASK_TEXT_FILTER_KEYS,
  TASK_TIME_FILTER_KEYS,
  type TaskTextFilterKey,
  type TaskTimeFilterKey,
} from '../domain/ports.js';
import { TASK_STATUSES } from '../domain/task.js';
import type { TaskListRequest } from '../services/tasks.js';

const TEXT_KEYS: ReadonlySet<string> = new Set(TASK_TEXT_FILTER_KEYS);
const TIME_KEYS: ReadonlySet<string> = new Set(TASK_TIME_FILTER_KEYS);

/**
 * Glance's RequestDeserializer.index on webob's MultiDict: limit, marker, sort_dir and
 * sort_key take their first value; status and type are validated on their last value (what
 * `MultiDict.get` returns) when non-empty; every value of a tasks column becomes an equality
 * filter (other parameters are ignored, `deleted` is forced to false by the controller).
 * Checks in Glance's order: sort_dir, status, type, marker, limit.
 *
 * @throws Invalid with Glance's messages.
 */
export function parseTaskListQuery(pairs: readonly (readonly [string, string])[]): TaskListRequest {
  const first = (key: string) => pairs.find(([k]) => k === key)?.[1];
  const last = (key: string) => [...pairs].reverse().find(([k]) => k === key)?.[1];
  const popped = new Set(['limit', 'marker', 'sort_dir', 'sort_key']);

  const sortKey = first('sort_key') ?? 'created_at';
  const sortDir = first('sort_dir') ?? 'desc';
  if (sortDir !== 'asc' && sortDir !== 'desc') throw new Invalid(`Invalid sort direction: ${sortDir}`);

  const status = last('status');
  if (status && !(TASK_STATUSES as readonly string[]).includes(status)) throw new Invalid(`Invalid status value: ${status}`);
  // Only the legacy type is accepted here, though tasks are api_image_import (Glance's check).
  const type = last('type');
  if (type && type !== 'import') throw new Invalid(`Invalid type value: ${type}`);

  const marker = first('marker');
  if (marker && !isUuidLike(marker)) throw new Invalid('Invalid marker format');

  const rawLimit = first('limit');
  let limit: number | undefined;
  if (rawLimit !== undefined) {
    limit = pyInt(rawLimit);
    if (limit === undefined) throw new Invalid('limit param must be an integer');
    if (limit < 0) throw new Invalid('limit param must be positive');
  }

  const text: Partial<Record<TaskTextFilterKey, string[]>> = {};
  const times: Partial<Record<TaskTimeFilterKey, (Date | null)[]>> = {};
  for (const [key, value] of pairs) {
    if (popped.has(key)) continue;
    if (TEXT_KEYS.has(key)) (text[key as TaskTextFilterKey] ??= []).push(value);
    else if (TIME_KEYS.has(key)) (times[key as TaskTimeFilterKey] ??= []).push(glanceDbTime(value));
  }
  return { limit, marker: marker === undefined ? undefined : marker, sortKey, sortDir, filters: { ...text, ...times } };
}

/** oslo's is_uuid_like: 32 hex digits once `urn:`, `uuid:`, braces and hyphens are dropped. */
export function isUuidLike(value: string): boolean {
  const hex = value.replace(/urn:/g, '').replace(/uuid:/g, '').replace(/^[{}]+|[{}]+$/g, '').replace(/-/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex);
}

/** Python's int(str): optional whitespace and sign, digits with single underscores between. */
function pyInt(value: string): number | undefined {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(value);
  if (m === null) return undefined;
  const n = Number(m[2]!.replace(/_/g, ''));
  return m[1] === '-' ? -n : n;
}

/**
 * A time filter compares the parameter with the stored DATETIME text, so only Glance's storage
 * form (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC) can ever match; anything else matches nothing.
 */
function glanceDbTime(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})000$/.exec(value);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  const date = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!));
  return date.toISOString().replace('T', ' ').replace('Z', '000') === value ? date : null;
}

