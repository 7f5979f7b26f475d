/**
 * iris-manage: operator commands, after glance-manage.
 *
 *   iris-manage [--config-file PATH]... [--config-dir DIR]... db sync      migrate to the latest schema ("Database is synced successfully.")
 *   iris-manage [--config-file PATH]... db upgrade   the same, printing the revision reached
 *   iris-manage [--config-file PATH]... db version   print the current revision, or "None"
 *   iris-manage [--config-file PATH]... db check     exit 0 when up to date, 3 when db sync is needed
 *   iris-manage [--config-file PATH]... db purge --age-in-days N --max-rows M
 *                                                     remove rows of images deleted more than N days ago
 *   iris-manage [--config-file PATH]... db load_metadefs [--path P] [--merge] [--prefer_new|--overwrite]
 *                                      db unload_metadefs, db export_metadefs [--path DIR]
 *                                                     the metadefs catalog (see cli/metadef-commands.ts)
 *   (glance-manage's older spellings db_sync, db_upgrade, db_version work too)
 *   iris-manage [--config-file PATH]... key create|list|revoke   API keys (see manage-key-commands.ts)
 *   iris-manage [--config-file PATH]... import-glance-db --from URL [--dry-run] [--merge]   (see import-glance-db-command.ts)
 *   iris-manage [--config-file PATH]... cache list|queue <id>|delete <id>|prune|clean   (see manage-cache-commands.ts)
 *
 * Configuration is read exactly as iris-api reads it (see config/load-config.ts), so both
 * always agree on which database they mean (SQLite, PostgreSQL or MySQL/MariaDB).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { withConfigFileOptions } from './config-file-options.js';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { openConfiguredDatabase } from '../persistence/configured-database.js';
import type { Database } from '../persistence/database.js';
import { ForeignDatabaseError } from '../persistence/foreign-database.js';
import { migrateToLatest, schemaStatus, SchemaTooNewError } from '../persistence/migrator.js';
import { purgeDeletedRows } from '../persistence/purge.js';
import { addImportGlanceDbCommand } from './import-glance-db-command.js';
import { addCacheCommands } from './manage-cache-commands.js';
import { addKeyCommands } from './manage-key-commands.js';
import { addMetadefCommands } from './metadef-commands.js';

export interface ManageIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Passed to the config loader (default process.env / process.cwd()). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** A bad command-line value (exit 2, like commander's usage errors). */
class UsageError extends Error {}

function wholeNumber(text: string, option: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`Invalid int value for ${option}: ${text}`);
  return Number.parseInt(text, 10);
}

const processIo: ManageIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * Runs iris-manage with `argv` (arguments only, without node and script) and resolves to
 * the process exit code: 0 on success, 1 on a configuration or database error (message on
 * stderr), 2 when the database is not Iris's (e.g. Glance's), commander's code for usage errors. Never calls process.exit.
 *
 * @example process.exitCode = await runManage(process.argv.slice(2));
 */
export async function runManage(argv: readonly string[], io: ManageIo = processIo): Promise<number> {
  // Files and directories in command-line order, exactly as iris-api reads them.
  const configArgs: string[] = [];
  const program = withConfigFileOptions(new Command('iris-manage'), configArgs)
    .description('Iris database management')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const config = (): Config => {
    return loadConfig({
      argv: configArgs,
      env: io.env,
      cwd: io.cwd,
    });
  };
  /** Runs `work` on the configured database (checked to be Iris's), closing it after. */
  const withDatabase = async <R>(work: (database: Database) => Promise<R>): Promise<R> => {
    const database = await openConfiguredDatabase(config().database, {
      onRetry: (err, attempt) => io.stderr(`iris-manage: database not reachable yet (attempt ${attempt}): ${(err as Error).message}\n`),
    });
    try {
      return await work(database);
    } finally {
      await database.close();
    }
  };

  // glance-manage's commands, in both its spellings: `db sync` and the older `db_sync`.
  const sync = () =>
    withDatabase(async ({ db: kysely, engine }) => {
      const before = (await schemaStatus(kysely)).current;
      const after = await migrateToLatest(kysely, engine);
      io.stdout(before === after ? 'Database is up to date. No migrations needed.\n' : 'Database is synced successfully.\n');
    });
  const upgrade = () =>
    withDatabase(async ({ db: kysely, engine }) => {
      io.stdout(`Upgraded database, current revision(s): ${(await migrateToLatest(kysely, engine)) ?? 'None'}\n`);
    });
  const version = async () => {
    const { sqlite_path: path } = config().database;
    // Asking for the version must not create an empty database file as a side effect.
    if (path !== '' && !existsSync(path)) {
      io.stdout('None\n');
      return;
    }
    await withDatabase(async ({ db: kysely }) => {
      io.stdout(`${(await schemaStatus(kysely)).current ?? 'None'}\n`);
    });
  };
  // glance-manage db check: 0 up to date, 3 when the first step (here: db sync) is needed.
  let exitCode = 0;
  const check = async () => {
    const { sqlite_path: path } = config().database;
    const status =
      path !== '' && !existsSync(path)
        ? { pending: ['(no database yet)'], unknown: [] as string[] }
        : await withDatabase(async ({ db: kysely }) => schemaStatus(kysely));
    if (status.unknown.length > 0) {
      throw new SchemaTooNewError(`the database schema is newer than this Iris (unknown migration(s) ${status.unknown.join(', ')})`);
    }
    if (status.pending.length === 0) {
      io.stdout('Database is up to date. No upgrades needed.\n');
      return;
    }
    io.stdout('Your database is not up to date. Run `iris-manage db sync`.\n');
    exitCode = 3;
  };
  const purge = async (opts: { ageInDays: string; maxRows: string }) => {
    const ageInDays = wholeNumber(opts.ageInDays, 'age-in-days');
    const maxRows = wholeNumber(opts.maxRows, 'max-rows');
    // glance-manage's limits, with its wording.
    if (ageInDays < 0) throw new UsageError('Must supply a non-negative value for age.');
    if (ageInDays >= Date.now() / 86_400_000) throw new UsageError('Maximal age is count of days since epoch.');
    if (maxRows < -1) throw new UsageError('Minimal rows limit is -1.');
    await withDatabase(async ({ db: kysely }) => {
      const report = await purgeDeletedRows(kysely, { deletedBefore: new Date(Date.now() - ageInDays * 86_400_000), maxRows });
      for (const [table, rows] of report) io.stdout(`Purged ${rows} row(s) older than ${ageInDays} day(s) from table ${table}\n`);
    });
  };

  const db = program.command('db').description('database schema commands').exitOverride();
  db.command('sync').description('migrate the database to the latest revision').exitOverride().action(sync);
  db.command('upgrade').description('migrate the database to the latest revision and print it').exitOverride().action(upgrade);
  db.command('version').description('print the current database revision, or None').exitOverride().action(version);
  db.command('check').description('exit 0 when the schema is current, 3 when db sync is needed').exitOverride().action(check);
  db.command('purge')
    .description('remove rows of images deleted more than N days ago (memberships, locations) and old deleted tasks')
    .option('--age-in-days <n>', 'purge rows deleted more than N days ago', '30')
    .option('--max-rows <m>', 'most rows to remove per table; -1 for all', '100')
    .exitOverride()
    .action(purge);
  addMetadefCommands(db, io, withDatabase);
  program.command('db_sync').description('same as db sync (glance-manage spelling)').exitOverride().action(sync);
  program.command('db_upgrade').description('same as db upgrade (glance-manage spelling)').exitOverride().action(upgrade);
  program.command('db_version').description('same as db version (glance-manage spelling)').exitOverride().action(version);

  addKeyCommands(program, io, () => config().iris_auth.api_key_file);
  addImportGlanceDbCommand(program, io, config);
  addCacheCommands(program, io, config, withDatabase);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    // Help and version output end with a CommanderError too; commander already printed them.
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UsageError) {
      io.stderr(`iris-manage: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ForeignDatabaseError || err instanceof SchemaTooNewError) {
      io.stderr(`iris-manage: ${err.message}\n`);
      return 2;
    }
    io.stderr(`iris-manage: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

// Run when executed directly (`node --import tsx src/cli/iris-manage.ts …`); bin/iris-manage.js
// imports the module and calls runManage itself.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runManage(process.argv.slice(2));
}
