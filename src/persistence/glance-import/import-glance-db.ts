/**
 * `import-glance-db`: carries a Glance database into Iris's.
 *
 * Reads Glance (glance-reader.ts), maps each image and task (glance-mapping.ts) and writes
 * through Iris's repositories, so the import runs on every engine Iris runs on and obeys the
 * same constraints as the API. Each image is one repository write (image, properties, tags and
 * locations in one transaction), then its memberships.
 *
 * Re-runnable: an image or task Iris already holds is compared with the mapped one and written
 * only when it differs ("unchanged" otherwise), so importing the same database twice changes
 * nothing the second time, and importing again at cut-over catches what changed in Glance
 * meanwhile. The Glance side is authoritative for the ids it holds: memberships it no longer
 * has are removed, and images deleted in Glance since an earlier import are deleted in Iris.
 * Rows of Iris's own (ids Glance does not have) are never touched, and their presence makes the
 * import refuse to run unless `merge` is set.
 */
import { existsSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { Conflict } from '../../domain/errors.js';
import type { ImageMember } from '../../domain/member.js';
import type { ImageRepository, MemberRepository, TaskRepository } from '../../domain/ports.js';
import type { Database } from '../database.js';
import { createImageRepository } from '../image-repository.js';
import { createMemberRepository } from '../member-repository.js';
import type { Schema } from '../schema.js';
import { createTaskRepository } from '../task-repository.js';
import { mapGlanceImage, mapGlanceTask, sameImage, sameTask, type MappedImage, type TargetStores } from './glance-mapping.js';
import { checkGlanceSchema, readGlanceImages, readGlanceTasks } from './glance-reader.js';
import type { GlanceSchema } from './glance-schema.js';
import { addNote, emptyReport, type ImportReport } from './import-report.js';

/** The import's view of an open Iris database: its repositories, on its engine. */
export function importTargetOf(database: Database): ImportTarget {
  const { db, engine } = database;
  return {
    db,
    images: createImageRepository(db, { engine }),
    members: createMemberRepository(db, { engine }),
    tasks: createTaskRepository(db, { engine }),
  };
}

/** Iris's database, as the import writes it. */
export interface ImportTarget {
  /** For the emptiness check (which ids Iris already holds). */
  readonly db: Kysely<Schema>;
  readonly images: ImageRepository;
  readonly members: MemberRepository;
  readonly tasks: TaskRepository;
}

export interface ImportOptions {
  /** The open Glance database (read only). */
  readonly source: Kysely<GlanceSchema>;
  /** How the source is named in the report (password masked). */
  readonly sourceName: string;
  /** Iris's database; null in a dry run against a database that does not exist yet (empty). */
  readonly target: ImportTarget | null;
  readonly targetName: string;
  readonly stores: TargetStores;
  /** Report only: read both sides, write nothing. */
  readonly dryRun: boolean;
  /** Import beside rows Iris already holds that are not Glance's. */
  readonly merge: boolean;
  /** Rows per read page (default 500). */
  readonly pageSize?: number;
}

/** Iris's database holds rows that are not from this Glance database, and `merge` was not set. */
export class NonEmptyTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonEmptyTargetError';
  }
}

async function glanceIds(db: Kysely<GlanceSchema>, table: 'images' | 'tasks'): Promise<Set<string>> {
  const rows = await db.selectFrom(table).select('id').execute();
  return new Set(rows.map((r) => r.id));
}

/** Ids of Iris's live rows (the column is read, not compared in SQL: its type is the engine's). */
async function liveIrisIds(db: Kysely<Schema>, table: 'images' | 'tasks'): Promise<string[]> {
  const rows = await db.selectFrom(table).select(['id', 'deleted']).execute();
  return rows.filter((r) => !r.deleted).map((r) => r.id);
}

/**
 * Throws NonEmptyTargetError when Iris holds live images or tasks whose ids Glance does not
 * have. Deleted rows do not count: Glance may have purged its own since an earlier import.
 */
async function refuseForeignRows(source: Kysely<GlanceSchema>, target: ImportTarget): Promise<void> {
  const [irisImages, irisTasks] = await Promise.all([liveIrisIds(target.db, 'images'), liveIrisIds(target.db, 'tasks')]);
  if (irisImages.length === 0 && irisTasks.length === 0) return;
  const [glanceImages, glanceTasks] = await Promise.all([glanceIds(source, 'images'), glanceIds(source, 'tasks')]);
  const foreignImages = irisImages.filter((id) => !glanceImages.has(id)).length;
  const foreignTasks = irisTasks.filter((id) => !glanceTasks.has(id)).length;
  if (foreignImages === 0 && foreignTasks === 0) return; // a re-run of this import
  throw new NonEmptyTargetError(
    `the Iris database is not empty: it holds ${foreignImages} image(s) and ${foreignTasks} task(s) that are not in this Glance ` +
      'database; pass --merge to import beside them',
  );
}

function sameMember(a: ImageMember, b: ImageMember): boolean {
  // created_at is not compared: reviving a soft-deleted membership keeps Iris's original one.
  return a.status === b.status && a.updated_at.getTime() === b.updated_at.getTime();
}

/** The membership writes that make Iris's list equal Glance's; empty when it already does. */
function memberChanges(
  wanted: readonly ImageMember[],
  current: readonly ImageMember[],
): { add: ImageMember[]; save: ImageMember[]; remove: string[] } {
  const now = new Map(current.map((m) => [m.member_id, m]));
  const want = new Set(wanted.map((m) => m.member_id));
  const add: ImageMember[] = [];
  const save: ImageMember[] = [];
  for (const member of wanted) {
    const existing = now.get(member.member_id);
    if (existing === undefined) add.push(member);
    else if (!sameMember(existing, member)) save.push(member);
  }
  const remove = current.filter((m) => !want.has(m.member_id)).map((m) => m.member_id);
  return { add, save, remove };
}

function countCarried(report: ImportReport, mapped: MappedImage): void {
  report.properties.carried += Object.keys(mapped.image.properties).length;
  report.tags.carried += mapped.image.tags.length;
  report.members.carried += mapped.members.length;
  for (const m of mapped.members) report.members.byStatus.add(m.status);
  for (const reason of mapped.skippedMembers) report.members.skipped.add(reason);
  for (const verdict of mapped.locations) {
    if (verdict.kind === 'skipped') {
      report.locations.skipped.add(verdict.reason);
      continue;
    }
    report.locations.carried++;
    if (verdict.kind === 'servable') {
      report.locations.servable++;
      if (verdict.storeChanged) report.locations.restored++;
      // Bytes are never copied, so a file Glance lost is lost to Iris too: say so now.
      if (verdict.path !== undefined && !existsSync(verdict.path)) {
        report.locations.missingFiles++;
        addNote(report, `image ${mapped.image.id}: no file at ${verdict.path}`);
      }
    } else {
      report.locations.notServable.add(verdict.reason);
    }
  }
  for (const note of mapped.notes) addNote(report, `image ${mapped.image.id}: ${note}`);
  if (['saving', 'uploading', 'importing'].includes(mapped.image.status)) report.inFlight++;
  // Downloads fall back across active locations, so only an image with none servable is noted.
  const carried = mapped.locations.filter((v) => v.kind !== 'skipped');
  const active = carried.filter((_v, i) => mapped.image.locations[i]?.status === 'active');
  if (active.length > 0 && active.every((v) => v.kind === 'not-servable')) {
    addNote(report, `image ${mapped.image.id}: no active location Iris can serve`);
  }
}

/** Writes one mapped image; returns what happened. */
async function writeImage(
  target: ImportTarget | null,
  mapped: MappedImage,
  dryRun: boolean,
): Promise<'added' | 'updated' | 'unchanged' | 'deleted-in-iris'> {
  const stored = target === null ? null : await target.images.get(mapped.image.id, { includeDeleted: true });
  if (stored === null) {
    if (!dryRun && target !== null) {
      await target.images.add(mapped.image);
      for (const member of mapped.members) await target.members.add(member);
    }
    return 'added';
  }
  if (stored.status === 'deleted') return 'deleted-in-iris';
  const members = memberChanges(mapped.members, await target!.members.list(mapped.image.id));
  const imageSame = sameImage(stored, mapped.image);
  if (imageSame && members.add.length + members.save.length + members.remove.length === 0) return 'unchanged';
  if (!dryRun) {
    if (!imageSame) await target!.images.save(mapped.image, { fromStatus: stored.status });
    for (const id of members.remove) await target!.members.remove(mapped.image.id, id);
    for (const member of members.add) await target!.members.add(member);
    for (const member of members.save) await target!.members.save(member);
  }
  return 'updated';
}

/**
 * Runs the import and returns its report. Throws GlanceSchemaError (not a readable Glance
 * database), NonEmptyTargetError (see `merge`), or the first database error; rows written
 * before an error stay written, and a re-run continues from there.
 *
 * @example const report = await importGlanceDb({ source, sourceName, target, targetName, stores, dryRun: false, merge: false });
 */
export async function importGlanceDb(opts: ImportOptions): Promise<ImportReport> {
  const report = emptyReport(opts.sourceName, opts.targetName, opts.dryRun);
  report.revision = await checkGlanceSchema(opts.source);
  const { target } = opts;
  if (target !== null && !opts.merge) await refuseForeignRows(opts.source, target);
  const pageSize = opts.pageSize ?? 500;

  for await (const page of readGlanceImages(opts.source, { pageSize })) {
    for (const glance of page) {
      report.images.seen++;
      const mapping = mapGlanceImage(glance, opts.stores);
      if (mapping.kind === 'skip') {
        report.images.skipped.add(mapping.reason);
        // Imported earlier, deleted in Glance since: Glance is authoritative for its ids.
        if (glance.deleted && target !== null && (await target.images.get(glance.id)) !== null) {
          if (!opts.dryRun) await target.images.remove(glance.id);
          report.images.removed++;
        }
        continue;
      }
      let outcome;
      try {
        outcome = await writeImage(target, mapping.mapped, opts.dryRun);
      } catch (err) {
        throw new Error(`image ${glance.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (outcome === 'deleted-in-iris') {
        report.images.skipped.add('deleted in Iris since an earlier import');
        continue;
      }
      report.images[outcome]++;
      countCarried(report, mapping.mapped);
    }
  }

  for await (const page of readGlanceTasks(opts.source, { pageSize })) {
    for (const glance of page) {
      report.tasks.seen++;
      const mapping = mapGlanceTask(glance);
      if (mapping.kind === 'skip') {
        report.tasks.skipped.add(mapping.reason);
        continue;
      }
      for (const note of mapping.notes) addNote(report, note);
      const stored = target === null ? null : await target.tasks.get(glance.id);
      try {
        if (stored === null) {
          if (!opts.dryRun && target !== null) await target.tasks.add(mapping.task);
          report.tasks.added++;
        } else if (sameTask(stored, mapping.task)) {
          report.tasks.unchanged++;
        } else {
          if (!opts.dryRun) await target!.tasks.save(mapping.task, { fromStatus: stored.status });
          report.tasks.updated++;
        }
      } catch (err) {
        // add() refuses the id of a task Iris deleted (ids are never reused).
        if (err instanceof Conflict && stored === null) {
          report.tasks.skipped.add('deleted in Iris since an earlier import');
          continue;
        }
        throw new Error(`task ${glance.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
  }
  return report;
}
