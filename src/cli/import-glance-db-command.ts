/**
 * `iris-manage import-glance-db --from <URL> [--dry-run] [--merge]`: carries an existing Glance
 * database into the Iris database the configuration names (see
 * persistence/glance-import/import-glance-db.ts) and prints the report.
 *
 * Exit codes: 0 done (or dry run done), 1 error (unreadable source, non-empty target without
 * --merge, database errors), 2 usage (missing or malformed --from, the target is Glance's).
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { Kysely } from 'kysely';
import type { Config } from '../config/config.js';
import { describeDatabase, openConfiguredDatabase } from '../persistence/configured-database.js';
import { importGlanceDb, importTargetOf, type ImportTarget } from '../persistence/glance-import/import-glance-db.js';
import { GlanceUrlError, openGlanceDatabase, parseGlanceUrl } from '../persistence/glance-import/glance-source.js';
import type { GlanceSchema } from '../persistence/glance-import/glance-schema.js';
import { formatReport } from '../persistence/glance-import/import-report.js';
import { currentRevision, migrateToLatest } from '../persistence/migrator.js';

export interface ImportCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd?: string;
}

function usage(io: ImportCommandIo, message: string): never {
  io.stderr(`iris-manage import-glance-db: ${message}\n`);
  throw new CommanderError(2, 'iris.usage', message);
}

/** Registers the subcommand on iris-manage's program. */
export function addImportGlanceDbCommand(program: Command, io: ImportCommandIo, config: () => Config): void {
  program
    .command('import-glance-db')
    .description("carry a Glance database (images, properties, tags, members, locations, tasks) into Iris's; image data stays where it is")
    .option('--from <url>', "SQLAlchemy URL of the Glance database, as in glance-api.conf's [database] connection")
    .option('--dry-run', 'read both databases and print the report; write nothing')
    .option('--merge', "import even though the Iris database holds images or tasks that are not Glance's")
    // Commander's own usage errors (unknown option, missing value) exit 2 like ours.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(2, err.code, err.message);
    })
    .action(async (opts: { from?: string; dryRun?: boolean; merge?: boolean }) => {
      if (opts.from === undefined || opts.from === '') usage(io, '--from <SQLAlchemy URL of the Glance database> is required');
      let url;
      try {
        url = parseGlanceUrl(opts.from, io.cwd ?? process.cwd());
      } catch (err) {
        if (err instanceof GlanceUrlError) usage(io, err.message);
        throw err;
      }
      const cfg = config();
      const settings = cfg.database;
      const targetPath = settings.sqlite_path !== '' ? settings.sqlite_path : undefined;
      if (targetPath !== undefined && url.target.engine === 'sqlite' && url.target.path === targetPath) {
        usage(io, '--from names the Iris database itself; import from the Glance database into a new Iris database');
      }
      const dryRun = opts.dryRun === true;
      // A dry run never creates the Iris database; one that does not exist yet is empty.
      const iris =
        dryRun && targetPath !== undefined && !existsSync(targetPath)
          ? null
          : await openConfiguredDatabase(settings, {
              onRetry: (err, attempt) => io.stderr(`iris-manage: database not reachable yet (attempt ${attempt}): ${(err as Error).message}\n`),
            });
      let source: Kysely<GlanceSchema> | undefined;
      try {
        source = openGlanceDatabase(url);
        let target: ImportTarget | null = null;
        if (iris !== null) {
          if (!dryRun) await migrateToLatest(iris.db, iris.engine);
          if (!dryRun || (await currentRevision(iris.db)) !== null) target = importTargetOf(iris);
        }
        const report = await importGlanceDb({
          source,
          sourceName: url.display,
          target,
          targetName: describeDatabase(settings),
          stores: {
            stores: cfg.backends.flatMap((b) => (b.type === 'file' ? [{ id: b.id, dir: b.filesystem_store_datadir }] : [])),
            remote: cfg.backends.flatMap((b) => (b.type === 'file' ? [] : [{ id: b.id, type: b.type }])),
            multiStore: cfg.multi_store,
          },
          dryRun,
          merge: opts.merge === true,
        });
        io.stdout(formatReport(report));
      } finally {
        await source?.destroy();
        await iris?.close();
      }
    });
}
