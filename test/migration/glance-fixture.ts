/**
 * A Glance database for import tests: the real schema, made by Glance 25.1.0's own
 * `glance-manage db_sync` on a temp SQLite file (so the tables are exactly what alembic
 * leaves at wallaby_contract01), then filled row by row with better-sqlite3.
 *
 * @example
 *   const glance = await makeGlanceSqlite(dir);   // null when glance-manage is not installed
 *   glance.addImage({ id, status: 'active', … });
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { requireTool } from '../helpers/tools.js';

export const GLANCE_MANAGE = '/usr/bin/glance-manage';

let template: string | undefined;

/** Runs glance-manage db_sync once per process (into a temp dir removed at exit); later calls copy that file. */
function schemaTemplate(): string {
  if (template !== undefined) return template;
  const dir = mkdtempSync(join(tmpdir(), 'glance-schema-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'glance-template.sqlite');
  const conf = join(dir, 'glance-manage.conf');
  writeFileSync(conf, `[database]\nconnection = sqlite:///${path}\n`);
  const r = spawnSync(GLANCE_MANAGE, ['--config-file', conf, 'db_sync'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`glance-manage db_sync failed (${r.status}): ${r.stderr}`);
  template = path;
  return path;
}

/** Loud skip (or CI failure) when glance-manage is missing. */
export function haveGlanceManage(): boolean {
  return requireTool('glance-manage', GLANCE_MANAGE);
}

export interface GlanceImageRow {
  readonly id: string;
  readonly name?: string | null;
  readonly status?: string;
  readonly visibility?: string;
  readonly owner?: string | null;
  readonly size?: number | null;
  readonly virtual_size?: number | null;
  readonly checksum?: string | null;
  readonly os_hash_algo?: string | null;
  readonly os_hash_value?: string | null;
  readonly disk_format?: string | null;
  readonly container_format?: string | null;
  readonly min_disk?: number;
  readonly min_ram?: number;
  readonly protected?: boolean;
  readonly os_hidden?: boolean;
  readonly created_at?: string;
  readonly updated_at?: string | null;
  readonly deleted?: boolean;
}

export interface GlanceFixture {
  readonly path: string;
  readonly url: string;
  readonly db: BetterSqlite3.Database;
  addImage(row: GlanceImageRow): void;
  addProperty(imageId: string, name: string, value: string | null, deleted?: boolean): void;
  addTag(imageId: string, value: string, deleted?: boolean): void;
  addLocation(imageId: string, url: string, metadata: string | null, opts?: { status?: string; deleted?: boolean }): void;
  addMember(imageId: string, member: string, status: string, opts?: { deleted?: boolean; canShare?: boolean }): void;
  addTask(row: { id: string; type: string; status: string; owner: string; image_id?: string | null; deleted?: boolean; input?: string | null; result?: string | null; message?: string | null }): void;
  close(): void;
}

const T0 = '2026-01-02 03:04:05.678901';

/** A fresh Glance SQLite database at `<dir>/<name>.sqlite`. */
export function makeGlanceSqlite(dir: string, name = 'glance'): GlanceFixture {
  const path = join(dir, `${name}.sqlite`);
  copyFileSync(schemaTemplate(), path);
  const db = new BetterSqlite3(path);
  const b = (v: boolean | undefined) => (v === true ? 1 : 0);
  return {
    path,
    url: `sqlite:///${path}`,
    db,
    addImage(row) {
      db.prepare(
        `insert into images (id, name, size, status, created_at, updated_at, deleted_at, deleted, disk_format, container_format,
           checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, os_hidden, os_hash_algo, os_hash_value)
         values (@id, @name, @size, @status, @created_at, @updated_at, @deleted_at, @deleted, @disk_format, @container_format,
           @checksum, @owner, @min_disk, @min_ram, @protected, @virtual_size, @visibility, @os_hidden, @os_hash_algo, @os_hash_value)`,
      ).run({
        id: row.id,
        name: row.name ?? null,
        size: row.size ?? null,
        status: row.status ?? 'queued',
        created_at: row.created_at ?? T0,
        updated_at: row.updated_at === undefined ? T0 : row.updated_at,
        deleted_at: row.deleted === true ? T0 : null,
        deleted: b(row.deleted),
        disk_format: row.disk_format ?? null,
        container_format: row.container_format ?? null,
        checksum: row.checksum ?? null,
        owner: row.owner === undefined ? 'p1' : row.owner,
        min_disk: row.min_disk ?? 0,
        min_ram: row.min_ram ?? 0,
        protected: b(row.protected),
        virtual_size: row.virtual_size ?? null,
        visibility: row.visibility ?? 'shared',
        os_hidden: b(row.os_hidden),
        os_hash_algo: row.os_hash_algo ?? null,
        os_hash_value: row.os_hash_value ?? null,
      });
    },
    addProperty(imageId, propName, value, deleted) {
      db.prepare('insert into image_properties (image_id, name, value, created_at, deleted) values (?, ?, ?, ?, ?)').run(imageId, propName, value, T0, b(deleted));
    },
    addTag(imageId, value, deleted) {
      db.prepare('insert into image_tags (image_id, value, created_at, deleted) values (?, ?, ?, ?)').run(imageId, value, T0, b(deleted));
    },
    addLocation(imageId, url, metadata, opts = {}) {
      db.prepare('insert into image_locations (image_id, value, meta_data, status, created_at, deleted) values (?, ?, ?, ?, ?, ?)').run(
        imageId,
        url,
        metadata,
        opts.status ?? 'active',
        T0,
        b(opts.deleted),
      );
    },
    addMember(imageId, member, status, opts = {}) {
      db.prepare(
        'insert into image_members (image_id, member, can_share, status, created_at, updated_at, deleted_at, deleted) values (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(imageId, member, b(opts.canShare), status, T0, T0, opts.deleted === true ? T0 : null, b(opts.deleted));
    },
    addTask(row) {
      db.prepare(
        'insert into tasks (id, type, status, owner, expires_at, created_at, updated_at, deleted, image_id, request_id, user_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(row.id, row.type, row.status, row.owner, null, T0, T0, b(row.deleted), row.image_id ?? null, 'req-1', 'u1');
      db.prepare('insert into task_info (task_id, input, result, message) values (?, ?, ?, ?)').run(
        row.id,
        row.input === undefined ? '{"image_id": "x"}' : row.input,
        row.result ?? null,
        row.message ?? '',
      );
    },
    close() {
      db.close();
    },
  };
}
