/**
 * Translates a `ListQuery` (scope, filters, sort, keyset marker) into SQL over `images`.
 *
 * Shape of the generated SQL, chosen so that a page costs about the same at 100,000 images
 * as at 1,000:
 * - the scope becomes one or more *arms*, each an index range (public images, the
 *   project's own images, shared images) combined with UNION ALL; the arms are disjoint,
 *   and SQLite merges them in sort order without a temporary B-tree and stops at LIMIT;
 * - the marker becomes one or more *segments*: ranges of the sort order that follow the
 *   marker, each an index range, run in order until the page is full. A single row-value
 *   comparison `(created_at, id) < (?, ?)` covers the default sort; nullable sort keys
 *   need NULL-aware ranges that a row value cannot express, so they split into segments.
 * No OFFSET anywhere.
 */
import { sql } from 'kysely';
import type { Expression, ExpressionBuilder, Kysely, SelectQueryBuilder, Selectable, SqlBool } from 'kysely';
import type { ImageFilters, ListQuery, ListScope, OneOrMany, SortDir, SortKey, TimeFilter } from '../domain/ports.js';
import { toDbTime } from './image-rows.js';
import type { ImagesTable, Schema } from './schema.js';
import type { SqlEngine } from './sql-engine.js';

type ImagesExpressions = ExpressionBuilder<Schema, 'images'>;
/** One SQL predicate on the `images` row being selected. */
export type Condition = (eb: ImagesExpressions) => Expression<SqlBool>;
export type ListRowQuery = SelectQueryBuilder<Schema, 'images', Selectable<ImagesTable>>;

export interface SortTerm {
  readonly key: SortKey;
  readonly dir: SortDir;
}

/**
 * Everything needed to build the SQL of one list request. `arms` empty means the caller can
 * see nothing (no query at all); `segments` has one entry (no condition) without a marker.
 */
export interface ListPlan {
  readonly sort: readonly SortTerm[];
  readonly arms: readonly (readonly Condition[])[];
  readonly filters: readonly Condition[];
  readonly segments: readonly (readonly Condition[])[];
}

/** Sort keys whose column may be NULL (they need NULL-aware keyset ranges). */
const NULLABLE_SORT_KEYS: ReadonlySet<SortKey> = new Set<SortKey>(['name', 'container_format', 'disk_format', 'size']);

/** Matches nothing (PostgreSQL refuses a bare `0` as a condition). */
const FALSE: Condition = () => sql<SqlBool>`1 = 0`;

/**
 * The full sort order: the requested keys, then Glance's `created_at` and `id`
 * tie-breakers (image_get_all appends both when absent), in the direction of the last
 * requested key. Keys after `id` are dropped (id is unique, they can never matter) and
 * repeated keys are dropped (they are already equal within any tie). Empty: Glance's
 * default `created_at desc`.
 */
export function effectiveSort(requested: readonly SortTerm[]): SortTerm[] {
  const sort: SortTerm[] = [];
  for (const term of requested) {
    if (sort.some((s) => s.key === term.key)) continue;
    sort.push({ key: term.key, dir: term.dir });
    if (term.key === 'id') return sort;
  }
  const dir = sort.at(-1)?.dir ?? 'desc';
  if (!sort.some((s) => s.key === 'created_at')) sort.push({ key: 'created_at', dir });
  sort.push({ key: 'id', dir });
  return sort;
}

// ------------------------------------------------------------------ scope --

/**
 * Membership test for shared images: a live membership of `project`, with `status` unless
 * 'all'. `deleted = 0` is a literal so SQLite can use the partial unique index on
 * (image_id, member).
 */
function memberOf(project: string, status: ListScope['memberStatus']): Condition {
  return (eb) =>
    eb.exists(
      eb
        .selectFrom('image_members as m')
        .select(sql.lit(1).as('one'))
        .whereRef('m.image_id', '=', 'images.id')
        .where('m.member', '=', project)
        .where('m.deleted', '=', sql.lit(0))
        .$if(status !== 'all', (qb) => qb.where('m.status', '=', status)),
    );
}

const visibilityIs =
  (visibility: string): Condition =>
  (eb) =>
    eb('images.visibility', '=', visibility);

/** Shared images the project reaches as a member (not as owner: the owner arm has those). */
function sharedWithProject(project: string, status: ListScope['memberStatus']): readonly Condition[] {
  // NULL-safe "not owned by": `IS NOT <value>` is SQLite only.
  const notOwned: Condition = (eb) => eb.or([eb('images.owner', 'is', null), eb('images.owner', '!=', project)]);
  return [visibilityIs('shared'), notOwned, memberOf(project, status)];
}

/**
 * The scope as disjoint arms, following Glance's image_get_all / _select_images_query.
 *
 * Regular user with a project P: Glance unions (public or community images), P's own
 * images and shared images P is a member of (membership status = member_status), then
 * applies `visibility` as a plain filter, or without one keeps community images only when
 * owned by P. Hence:
 * - default: public | owned by P (any visibility, including P's community images) | shared with P
 * - all: public | community | owned by P | shared with P
 * - public / community: every image with that visibility
 * - private: P's private images; shared: P's shared images | shared with P
 *
 * Regular user without a project (anonymous): the same minus the owner and member arms.
 * Glance's member query would then match every shared image that has any member at all,
 * which leaks private sharing to anonymous callers; Iris deliberately does not.
 *
 * Admin: Glance applies no scope, only `visibility` as a column filter; without one it still
 * drops community images not owned by the admin's project (all of them when there is no
 * project), exactly as for a regular user. `all` shows everything.
 */
export function scopeArms(scope: ListScope): Condition[][] {
  const { project, visibility, memberStatus } = scope;
  if (scope.isAdmin) {
    if (visibility === 'all') return [[]];
    if (visibility !== undefined) return [[visibilityIs(visibility)]];
    // Community images are rare: a residual filter on the created_at / name walk is cheap.
    if (project === null) return [[(eb) => eb('images.visibility', '!=', 'community')]];
    return [[(eb) => eb.or([eb('images.visibility', '!=', 'community'), eb('images.owner', '=', project)])]];
  }
  const ownedBy: Condition = (eb) => eb('images.owner', '=', project);
  switch (visibility) {
    case 'public':
    case 'community':
      return [[visibilityIs(visibility)]];
    case 'private':
      return project === null ? [] : [[ownedBy, visibilityIs('private')]];
    case 'shared':
      return project === null ? [] : [[ownedBy, visibilityIs('shared')], [...sharedWithProject(project, memberStatus)]];
    case 'all':
      if (project === null) return [[visibilityIs('public')], [visibilityIs('community')]];
      return [
        [visibilityIs('public')],
        [visibilityIs('community')],
        [ownedBy, (eb) => eb('images.visibility', 'not in', ['public', 'community'])],
        [...sharedWithProject(project, memberStatus)],
      ];
    case undefined:
      if (project === null) return [[visibilityIs('public')]];
      return [
        [visibilityIs('public')],
        [ownedBy, (eb) => eb('images.visibility', '!=', 'public')],
        [...sharedWithProject(project, memberStatus)],
      ];
  }
}

// ---------------------------------------------------------------- filters --

type FilterColumn = 'name' | 'status' | 'id' | 'owner' | 'disk_format' | 'container_format';

function oneOrMany(column: FilterColumn, value: OneOrMany<string>): Condition {
  if ('in' in value) {
    // `IN ()` is a syntax error; an empty set matches nothing.
    if (value.in.length === 0) return FALSE;
    return (eb) => eb(`images.${column}`, 'in', [...value.in]);
  }
  return (eb) => eb(`images.${column}`, '=', value.eq);
}

const TEXT_COLUMNS = {
  checksum: 'images.checksum',
  os_hash_value: 'images.os_hash_value',
  os_hash_algo: 'images.os_hash_algo',
} as const;
const INTEGER_COLUMNS = {
  size: 'images.size',
  virtual_size: 'images.virtual_size',
  min_ram: 'images.min_ram',
  min_disk: 'images.min_disk',
} as const;

const COMPARISON_SQL = { eq: '=', neq: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function timeComparison(column: 'created_at' | 'updated_at', filter: TimeFilter): Condition {
  const ms = toDbTime(filter.value);
  return (eb) => eb(`images.${column}`, COMPARISON_SQL[filter.op], ms);
}

/**
 * Filter predicates (all ANDed), after Glance's _make_conditions_from_filters. `os_hidden`
 * is not here: it is an index column, see `baseConditions`.
 */
export function filterConditions(filters: ImageFilters): Condition[] {
  const conditions: Condition[] = [];
  for (const column of ['name', 'status', 'id', 'owner', 'disk_format', 'container_format'] as const) {
    const value = filters[column];
    if (value !== undefined) conditions.push(oneOrMany(column, value));
  }
  // One EXISTS per tag: every tag must be present (Glance joins image_tags once per tag).
  for (const tag of filters.tags ?? []) {
    conditions.push((eb) =>
      eb.exists(
        eb
          .selectFrom('image_tags as t')
          .select(sql.lit(1).as('one'))
          .whereRef('t.image_id', '=', 'images.id')
          .where('t.value', '=', tag),
      ),
    );
  }
  const { size_min, size_max } = filters;
  if (size_min !== undefined) conditions.push((eb) => eb('images.size', '>=', size_min));
  if (size_max !== undefined) conditions.push((eb) => eb('images.size', '<=', size_max));
  if (filters.protected !== undefined) {
    const value = filters.protected ? 1 : 0;
    conditions.push((eb) => eb('images.protected', '=', value));
  }
  for (const f of filters.created_at ?? []) conditions.push(timeComparison('created_at', f));
  for (const f of filters.updated_at ?? []) conditions.push(timeComparison('updated_at', f));
  // Other core columns by equality. Integer columns compare with the number when the text is
  // one (SQLite STRICT tables would never equal text), else match nothing, as Glance's SQL.
  for (const [column, value] of Object.entries(filters.columns ?? {})) {
    if (!(column in TEXT_COLUMNS) && !(column in INTEGER_COLUMNS)) continue;
    if (column in INTEGER_COLUMNS) {
      const n = /^\s*-?\d+\s*$/.test(value) ? Number.parseInt(value, 10) : null;
      if (n === null) {
        conditions.push(FALSE);
        continue;
      }
      const col = INTEGER_COLUMNS[column as keyof typeof INTEGER_COLUMNS];
      conditions.push((eb) => eb(col, '=', n));
    } else {
      const col = TEXT_COLUMNS[column as keyof typeof TEXT_COLUMNS];
      conditions.push((eb) => eb(col, '=', value));
    }
  }
  for (const [name, value] of Object.entries(filters.properties ?? {})) {
    conditions.push((eb) =>
      eb.exists(
        eb
          .selectFrom('image_properties as p')
          .select(sql.lit(1).as('one'))
          .whereRef('p.image_id', '=', 'images.id')
          .where('p.name', '=', name)
          .where('p.value', '=', value),
      ),
    );
  }
  return conditions;
}

/**
 * Always applied: live rows, the os_hidden choice (Glance's v2 index lists hidden images
 * only with `os_hidden=true`), and no `killed` images — Glance's v2 index always passes
 * `deleted=False`, and image_get_all turns that into `status IN (every status but killed)`.
 */
function baseConditions(filters: ImageFilters): Condition[] {
  const hidden = filters.os_hidden === true ? 1 : 0;
  return [
    (eb) => eb('images.deleted', '=', 0),
    (eb) => eb('images.os_hidden', '=', hidden),
    (eb) => eb('images.status', '!=', 'killed'),
  ];
}

// ----------------------------------------------------------------- keyset --

type SortValue = string | number | null;

function sortValue(row: Selectable<ImagesTable>, key: SortKey): SortValue {
  return row[key];
}

function equalTo(key: SortKey, value: SortValue): Condition {
  return value === null ? (eb) => eb(`images.${key}`, 'is', null) : (eb) => eb(`images.${key}`, '=', value);
}

/**
 * The ranges of one key strictly after `value`, in sort order. SQLite (like Glance's
 * MySQL) puts NULLs first ascending and last descending; the pagination keeps that order.
 */
function rangesAfter(key: SortKey, dir: SortDir, value: SortValue): Condition[] {
  if (value === null) {
    // Ascending: every non-NULL follows the NULLs. Descending: nothing follows the NULLs.
    return dir === 'asc' ? [(eb) => eb(`images.${key}`, 'is not', null)] : [];
  }
  if (dir === 'asc') return [(eb) => eb(`images.${key}`, '>', value)];
  const below: Condition = (eb) => eb(`images.${key}`, '<', value);
  return NULLABLE_SORT_KEYS.has(key) ? [below, (eb) => eb(`images.${key}`, 'is', null)] : [below];
}

/**
 * Segments of the sort order after the marker row, in order. With keys k1..kn, the rows
 * after the marker are, first, those equal on k1..k(n-1) and after it on kn, then those
 * equal on k1..k(n-2) and after it on k(n-1), and so on: each is an equality prefix plus
 * one range, i.e. one index range. The trailing run of non-NULL keys sharing one
 * direction collapses into a single row-value comparison, which SQLite also seeks on.
 */
export function keysetSegments(sort: readonly SortTerm[], marker: Selectable<ImagesTable> | undefined): Condition[][] {
  if (marker === undefined) return [[]];
  const value = (s: SortTerm): SortValue => sortValue(marker, s.key);
  const prefix = (i: number): Condition[] => sort.slice(0, i).map((s) => equalTo(s.key, value(s)));

  const lastTerm = sort.at(-1);
  if (lastTerm === undefined) throw new Error('keyset pagination needs a sort order');
  let runStart = sort.length - 1;
  while (runStart > 0) {
    const prev = sort[runStart - 1]!; // runStart > 0
    if (NULLABLE_SORT_KEYS.has(prev.key) || prev.dir !== lastTerm.dir) break;
    runStart -= 1;
  }
  const run = sort.slice(runStart);
  const runValues = run.map(value);
  const op = lastTerm.dir === 'asc' ? '>' : '<';
  const runRange: Condition =
    run.length === 1
      ? (eb) => eb(`images.${lastTerm.key}`, op, value(lastTerm))
      : (eb) => eb(eb.refTuple(...tupleRefs(run)), op, eb.tuple(...tupleValues(runValues)));

  const segments: Condition[][] = [[...prefix(runStart), runRange]];
  for (let i = runStart - 1; i >= 0; i -= 1) {
    const term = sort[i]!; // 0 <= i < sort.length
    for (const range of rangesAfter(term.key, term.dir, value(term))) {
      segments.push([...prefix(i), range]);
    }
  }
  return segments;
}

// Kysely's tuple helpers are typed for 2..5 elements; a run holds at most the 4 non-NULL keys
// (status, id, created_at, updated_at).
function tupleRefs(run: readonly SortTerm[]): [any, any] {
  return run.map((s) => `images.${s.key}`) as unknown as [any, any];
}
function tupleValues(values: readonly SortValue[]): [any, any] {
  return [...values] as unknown as [any, any];
}

// ------------------------------------------------------------------- plan --

/** Plans a list request; `marker` is the already loaded (and visibility-checked) marker row. */
export function planList(query: ListQuery, marker: Selectable<ImagesTable> | undefined): ListPlan {
  const sort = effectiveSort(query.sort);
  return {
    sort,
    arms: scopeArms(query.scope),
    filters: [...baseConditions(query.filters), ...filterConditions(query.filters)],
    segments: keysetSegments(sort, marker),
  };
}

/**
 * The SELECT for one segment of a plan: one query per arm, UNION ALL, ordered by the full
 * sort (unqualified column names, as a compound ORDER BY requires) and limited.
 * Precondition: `plan.arms` is not empty.
 */
export function segmentQuery(
  db: Kysely<Schema>,
  engine: SqlEngine,
  plan: ListPlan,
  segment: readonly Condition[],
  limit: number,
): ListRowQuery {
  const [first, ...rest] = plan.arms.map((arm) =>
    db
      .selectFrom('images')
      .selectAll('images')
      .where((eb) => eb.and([...plan.filters, ...arm, ...segment].map((c) => c(eb)))),
  );
  if (first === undefined) throw new Error('segmentQuery needs at least one scope arm');
  let query: ListRowQuery = first;
  for (const arm of rest) query = query.unionAll(arm);
  // NULLs where SQLite puts them (first ascending, last descending) on every engine: the
  // keyset ranges (rangesAfter) assume that order.
  for (const term of plan.sort) {
    query = query.orderBy(sql.ref(term.key), NULLABLE_SORT_KEYS.has(term.key) ? engine.orderNullable(term.dir) : term.dir);
  }
  return query.limit(limit);
}
