/**
 * iris-manage: operator commands, after glance-manage.
 *
 *   iris-manage [--config-file PATH]... [--config-dir DIR]... db sync      migrate to the latest schema ("Database is synced successfully.")
 *   iris-manage [--config-file PATH]... db upgrade   the same, printing the revision reached
 *   iris-manage [--config-file PATH]... db version   print the current revision, or "None"
 *   (glance-manage's older spellings db_sync, db_upgrade, db_version work too)
 *   iris-manage [--config-file PATH]... key create|list|revoke   API keys (see manage-key-commands.ts)
 *   iris-manage [--config-file PATH]... import-glance-db --from URL [--dry-run] [--merge]   (see import-glance-db-command.ts)
 *
 * Configuration is read exactly as iris-api reads it (see config/load-config.ts), so both
 * always agree on which database file they mean.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { openDatabase } from '../persistence/database.js';
import { assertIrisDatabase, ForeignDatabaseError } from '../persistence/foreign-database.js';
import { currentRevision, migrateToLatest } from '../persistence/migrator.js';
import { addImportGlanceDbCommand } from './import-glance-db-command.js';
import { addKeyCommands } from './manage-key-commands.js';

export interface ManageIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Passed to the config loader (default process.env / process.cwd()). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
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
  const program = new Command('iris-manage')
    .description('Iris database management')
    .option('--config-file <path>', 'configuration file (repeatable; later files win)', (path: string) => {
      configArgs.push('--config-file', path);
      return path;
    })
    .option('--config-dir <dir>', 'read every *.conf in DIR, sorted, after the files before it (repeatable)', (dir: string) => {
      configArgs.push('--config-dir', dir);
      return dir;
    })
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const config = (): Config => {
    return loadConfig({
      argv: configArgs,
      env: io.env,
      cwd: io.cwd,
    });
  };
  const sqlitePath = (): string => config().database.sqlite_path;

  // glance-manage's commands, in both its spellings: `db sync` and the older `db_sync`.
  const sync = async () => {
    const path = sqlitePath();
    assertIrisDatabase(path);
    const { db: kysely, close } = openDatabase({ sqlitePath: path });
    try {
      const before = await currentRevision(kysely);
      const after = await migrateToLatest(kysely);
      io.stdout(before === after ? 'Database is up to date. No migrations needed.\n' : 'Database is synced successfully.\n');
    } finally {
      await close();
    }
  };
  const upgrade = async () => {
    const path = sqlitePath();
    assertIrisDatabase(path);
    const { db: kysely, close } = openDatabase({ sqlitePath: path });
    try {
      io.stdout(`Upgraded database, current revision(s): ${(await migrateToLatest(kysely)) ?? 'None'}\n`);
    } finally {
      await close();
    }
  };
  const version = async () => {
    const path = sqlitePath();
    // Asking for the version must not create an empty database file as a side effect.
    if (!existsSync(path)) {
      io.stdout('None\n');
      return;
    }
    assertIrisDatabase(path);
    const { db: kysely, close } = openDatabase({ sqlitePath: path });
    try {
      io.stdout(`${(await currentRevision(kysely)) ?? 'None'}\n`);
    } finally {
      await close();
    }
  };

  const db = program.command('db').description('database schema commands').exitOverride();
  db.command('sync').description('migrate the database to the latest revision').exitOverride().action(sync);
  db.command('upgrade').description('migrate the database to the latest revision and print it').exitOverride().action(upgrade);
  db.command('version').description('print the current database revision, or None').exitOverride().action(version);
  program.command('db_sync').description('same as db sync (glance-manage spelling)').exitOverride().action(sync);
  program.command('db_upgrade').description('same as db upgrade (glance-manage spelling)').exitOverride().action(upgrade);
  program.command('db_version').description('same as db version (glance-manage spelling)').exitOverride().action(version);

  addKeyCommands(program, io, () => config().iris_auth.api_key_file);
  addImportGlanceDbCommand(program, io, config);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // Help and version output end with a CommanderError too; commander already printed them.
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ForeignDatabaseError) {
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
