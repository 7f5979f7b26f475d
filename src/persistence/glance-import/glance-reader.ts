/**
 * Reads a Glance database into plain records, the same on every engine: booleans as booleans,
 * integers as numbers, naive-UTC DATETIME text as Dates, soft-deleted child rows (Glance's
 * history of removed properties, tags, locations and memberships) left out.
 *
 * Images are read in pages ordered by id, each page's child rows with one query per table, so
 * memory stays bounded by the page, not by the database.
 */
import type { Kysely } from 'kysely';
import type { GlanceSchema } from './glance-schema.js';

export interface GlanceLocation {
  readonly url: string;
  /** meta_data as stored (JSON text or NULL); parsed by the mapping, which reports bad JSON. */
  readonly metadataText: string | null;
  readonly status: string;
}

export interface GlanceMember {
  readonly member: string;
  readonly status: string;
  readonly canShare: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface GlanceImage {
  readonly id: string;
  readonly name: string | null;
  readonly size: number | null;
  readonly virtualSize: number | null;
  readonly status: string;
  readonly visibility: string;
  readonly checksum: string | null;
  readonly osHashAlgo: string | null;
  readonly osHashValue: string | null;
  readonly diskFormat: string | null;
  readonly containerFormat: string | null;
  readonly owner: string | null;
  readonly minDisk: number;
  readonly minRam: number;
  readonly protected: boolean;
  readonly osHidden: boolean;
  readonly createdAt: Date;
  /** created_at when Glance left updated_at NULL. */
  readonly updatedAt: Date;
  readonly deleted: boolean;
  /** Live properties in row order; a NULL value reads as ''. */
  readonly properties: readonly { readonly name: string; readonly value: string }[];
  /** Live tags in row (insertion) order. */
  readonly tags: readonly string[];
  /** Live location rows in row order (Glance's location order). */
  readonly locations: readonly GlanceLocation[];
  /** Live memberships in row order. */
  readonly members: readonly GlanceMember[];
}

export interface GlanceTask {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly owner: string;
  readonly imageId: string | null;
  readonly requestId: string | null;
  readonly userId: string | null;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly deleted: boolean;
  /** task_info columns as stored: JSON text or NULL (no task_info row: all NULL). */
  readonly inputText: string | null;
  readonly resultText: string | null;
  readonly message: string | null;
}

/** Tables and columns the reader needs; a database missing any is refused before reading. */
const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  alembic_version: ['version_num'],
  images: ['id', 'name', 'size', 'virtual_size', 'status', 'visibility', 'checksum', 'os_hash_algo', 'os_hash_value', 'disk_format',
    'container_format', 'owner', 'min_disk', 'min_ram', 'protected', 'os_hidden', 'created_at', 'updated_at', 'deleted'],
  image_properties: ['id', 'image_id', 'name', 'value', 'deleted'],
  image_tags: ['id', 'image_id', 'value', 'deleted'],
  image_locations: ['id', 'image_id', 'value', 'meta_data', 'status', 'deleted'],
  image_members: ['id', 'image_id', 'member', 'can_share', 'status', 'created_at', 'updated_at', 'deleted'],
  // image_id, request_id and user_id arrived with wallaby_expand01.
  tasks: ['id', 'type', 'status', 'owner', 'expires_at', 'image_id', 'request_id', 'user_id', 'created_at', 'updated_at', 'deleted'],
  task_info: ['task_id', 'input', 'result', 'message'],
};

/** The database is not a Glance database this importer can read (missing tables or columns). */
export class GlanceSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlanceSchemaError';
  }
}

/**
 * Checks that `db` holds Glance's schema at `wallaby_contract01` or later (by the tables and
 * columns read, so later heads that only add tables pass) and returns the alembic revision.
 * Throws GlanceSchemaError naming what is missing.
 */
export async function checkGlanceSchema(db: Kysely<GlanceSchema>): Promise<string> {
  const tables = await db.introspection.getTables();
  const byName = new Map(tables.map((t) => [t.name, new Set(t.columns.map((c) => c.name))]));
  if (!byName.has('images') || !byName.has('alembic_version')) {
    throw new GlanceSchemaError('this is not a Glance database: it has no images and alembic_version tables');
  }
  const rows = await db.selectFrom('alembic_version').select('version_num').execute();
  const revision = rows.map((r) => r.version_num).join(',') || 'none';
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
    const have = byName.get(table);
    if (have === undefined) missing.push(table);
    else for (const column of columns) if (!have.has(column)) missing.push(`${table}.${column}`);
  }
  if (missing.length > 0) {
    throw new GlanceSchemaError(
      `the Glance schema at revision ${revision} lacks ${missing.join(', ')}: upgrade it to wallaby_contract01 or later ` +
        '(glance-manage db sync with Glance Wallaby or newer) before importing',
    );
  }
  return revision;
}

function toBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

function toInt(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`${what}: ${String(value)} is not an integer Iris can hold exactly`);
  return n;
}

function toIntOrNull(value: unknown, what: string): number | null {
  return value === null || value === undefined ? null : toInt(value, what);
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Glance's naive-UTC DATETIME (text on every engine here) as a Date, to the millisecond. */
export function parseGlanceTime(value: unknown, what: string): Date {
  if (value instanceof Date) return value;
  const m = TIME.exec(String(value));
  if (m === null) throw new Error(`${what}: ${JSON.stringify(value)} is not a date-time`);
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  let time = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    time -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
  }
  return new Date(time);
}

function parseTimeOrNull(value: unknown, what: string): Date | null {
  return value === null || value === undefined ? null : parseGlanceTime(value, what);
}

function groupBy<R extends { readonly image_id: string }>(rows: readonly R[]): Map<string, R[]> {
  const out = new Map<string, R[]>();
  for (const row of rows) {
    const list = out.get(row.image_id);
    if (list) list.push(row);
    else out.set(row.image_id, [row]);
  }
  return out;
}

/**
 * Every image (deleted ones too, flagged), in pages of `pageSize` ordered by id.
 *
 * @example for await (const page of readGlanceImages(db)) for (const image of page) …
 */
export async function* readGlanceImages(db: Kysely<GlanceSchema>, opts: { readonly pageSize?: number } = {}): AsyncGenerator<GlanceImage[]> {
  const pageSize = opts.pageSize ?? 500;
  let after: string | undefined;
  for (;;) {
    const rows = await db
      .selectFrom('images')
      .selectAll()
      .$if(after !== undefined, (qb) => qb.where('id', '>', after!))
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    const ids = rows.map((r) => r.id);
    // Soft-deleted child rows are filtered here rather than in SQL: the column is an integer on
    // SQLite and MySQL and a boolean on PostgreSQL, and one spelling must work on all three.
    const [properties, tags, locations, members] = await Promise.all([
      db.selectFrom('image_properties').select(['id', 'image_id', 'name', 'value', 'deleted']).where('image_id', 'in', ids).orderBy('id').execute(),
      db.selectFrom('image_tags').select(['id', 'image_id', 'value', 'deleted']).where('image_id', 'in', ids).orderBy('id').execute(),
      db
        .selectFrom('image_locations')
        .select(['id', 'image_id', 'value', 'meta_data', 'status', 'deleted'])
        .where('image_id', 'in', ids)
        .orderBy('id')
        .execute(),
      db
        .selectFrom('image_members')
        .select(['id', 'image_id', 'member', 'can_share', 'status', 'created_at', 'updated_at', 'deleted'])
        .where('image_id', 'in', ids)
        .orderBy('id')
        .execute(),
    ]);
    const live = <R extends { readonly deleted: unknown }>(list: readonly R[]) => list.filter((r) => !toBool(r.deleted));
    const propsBy = groupBy(live(properties));
    const tagsBy = groupBy(live(tags));
    const locationsBy = groupBy(live(locations));
    const membersBy = groupBy(live(members));
    yield rows.map((row): GlanceImage => {
      const what = `image ${row.id}`;
      const createdAt = parseGlanceTime(row.created_at, `${what} created_at`);
      return {
        id: row.id,
        name: row.name,
        size: toIntOrNull(row.size, `${what} size`),
        virtualSize: toIntOrNull(row.virtual_size, `${what} virtual_size`),
        status: row.status,
        visibility: row.visibility,
        checksum: row.checksum,
        osHashAlgo: row.os_hash_algo,
        osHashValue: row.os_hash_value,
        diskFormat: row.disk_format,
        containerFormat: row.container_format,
        owner: row.owner,
        minDisk: toInt(row.min_disk, `${what} min_disk`),
        minRam: toInt(row.min_ram, `${what} min_ram`),
        protected: toBool(row.protected),
        osHidden: toBool(row.os_hidden),
        createdAt,
        updatedAt: parseTimeOrNull(row.updated_at, `${what} updated_at`) ?? createdAt,
        deleted: toBool(row.deleted),
        properties: (propsBy.get(row.id) ?? []).map((p) => ({ name: p.name, value: p.value ?? '' })),
        tags: (tagsBy.get(row.id) ?? []).map((t) => t.value),
        locations: (locationsBy.get(row.id) ?? []).map((l) => ({ url: l.value, metadataText: l.meta_data, status: l.status })),
        members: (membersBy.get(row.id) ?? []).map((m) => {
          const memberCreated = parseGlanceTime(m.created_at, `${what} member ${m.member} created_at`);
          return {
            member: m.member,
            status: m.status,
            canShare: toBool(m.can_share),
            createdAt: memberCreated,
            updatedAt: parseTimeOrNull(m.updated_at, `${what} member ${m.member} updated_at`) ?? memberCreated,
          };
        }),
      };
    });
  }
}

/** Every task with its task_info (deleted ones too, flagged), in pages ordered by id. */
export async function* readGlanceTasks(db: Kysely<GlanceSchema>, opts: { readonly pageSize?: number } = {}): AsyncGenerator<GlanceTask[]> {
  const pageSize = opts.pageSize ?? 500;
  let after: string | undefined;
  for (;;) {
    const rows = await db
      .selectFrom('tasks')
      .leftJoin('task_info', 'task_info.task_id', 'tasks.id')
      .select([
        'tasks.id',
        'tasks.type',
        'tasks.status',
        'tasks.owner',
        'tasks.expires_at',
        'tasks.image_id',
        'tasks.request_id',
        'tasks.user_id',
        'tasks.created_at',
        'tasks.updated_at',
        'tasks.deleted',
        'task_info.input',
        'task_info.result',
        'task_info.message',
      ])
      .$if(after !== undefined, (qb) => qb.where('tasks.id', '>', after!))
      .orderBy('tasks.id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    yield rows.map((row): GlanceTask => {
      const what = `task ${row.id}`;
      const createdAt = parseGlanceTime(row.created_at, `${what} created_at`);
      return {
        id: row.id,
        type: row.type,
        status: row.status,
        owner: row.owner,
        imageId: row.image_id,
        requestId: row.request_id,
        userId: row.user_id,
        expiresAt: parseTimeOrNull(row.expires_at, `${what} expires_at`),
        createdAt,
        updatedAt: parseTimeOrNull(row.updated_at, `${what} updated_at`) ?? createdAt,
        deleted: toBool(row.deleted),
        inputText: row.input ?? null,
        resultText: row.result ?? null,
        message: row.message ?? null,
      };
    });
  }
}
