/**
 * iris-manage db load_metadefs | unload_metadefs | export_metadefs: glance-manage's metadefs
 * commands (see persistence/metadef-files.ts). Both option spellings work: glance-manage's
 * `--prefer_new` and `--prefer-new`.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { Database } from '../persistence/database.js';
import { exportMetadefs, loadMetadefs, loadOptionsProblem, STOCK_METADEFS_PATH, unloadMetadefs } from '../persistence/metadef-files.js';
import { schemaStatus } from '../persistence/migrator.js';

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

type WithDatabase = <R>(work: (database: Database) => Promise<R>) => Promise<R>;

/** The catalog tables must exist: a database that is not synced is refused with the fix. */
async function requireSchema(database: Database): Promise<void> {
  const { pending } = await schemaStatus(database.db);
  if (pending.length > 0) throw new Error(`the database schema is not up to date (pending: ${pending.join(', ')}); run \`iris-manage db sync\` first`);
}

/** Where the stock definitions are when --path is not given. */
function defaultPath(): string {
  if (existsSync(STOCK_METADEFS_PATH)) return STOCK_METADEFS_PATH;
  throw new Error(
    `no --path given and ${STOCK_METADEFS_PATH} does not exist: install Debian's glance-common package ` +
      '(or take etc/metadefs/*.json from the Glance source, Apache-2.0) and pass --path DIR',
  );
}

export function addMetadefCommands(db: Command, io: Io, withDatabase: WithDatabase): void {
  const load = async (opts: { path?: string; merge?: boolean; prefer_new?: boolean; preferNew?: boolean; overwrite?: boolean }) => {
    const flags = { merge: opts.merge === true, preferNew: opts.prefer_new === true || opts.preferNew === true, overwrite: opts.overwrite === true };
    const problem = loadOptionsProblem(flags);
    if (problem !== null) throw new Error(problem);
    const path = opts.path ?? defaultPath();
    await withDatabase(async (database) => {
      await requireSchema(database);
      const report = await loadMetadefs(database.db, database.engine, { path, ...flags, warn: (m) => io.stderr(`iris-manage: ${m}\n`) });
      io.stdout(`Loaded ${report.loaded.length} metadata definition namespace(s) from ${path}\n`);
    });
  };
  for (const name of ['load_metadefs', 'load-metadefs']) {
    db.command(name)
      .description('load metadata definition files (default: Debian glance-common\'s) into the database')
      .option('--path <path>', `a definition file or a directory of them (default ${STOCK_METADEFS_PATH})`)
      .option('--merge', 'add to namespaces that already exist')
      .option('--prefer_new', 'with --merge: rewrite what exists from the files')
      .option('--prefer-new', 'same as --prefer_new')
      .option('--overwrite', 'with --merge: replace namespaces that exist')
      .exitOverride()
      .action(load);
  }
  const unload = () =>
    withDatabase(async (database) => {
      await requireSchema(database);
      await unloadMetadefs(database.db, database.engine);
      io.stdout('Metadata definitions unloaded.\n');
    });
  for (const name of ['unload_metadefs', 'unload-metadefs']) {
    db.command(name).description('delete every metadata definition').exitOverride().action(unload);
  }
  const exportAll = (opts: { path?: string }) =>
    withDatabase(async (database) => {
      await requireSchema(database);
      const files = await exportMetadefs(database.db, opts.path ?? '/etc/glance/metadefs');
      io.stdout(`Exported ${files.length} namespace(s) to ${opts.path ?? '/etc/glance/metadefs'}\n`);
    });
  for (const name of ['export_metadefs', 'export-metadefs']) {
    db.command(name)
      .description('write every namespace to a JSON file')
      .option('--path <dir>', 'directory to write into (default /etc/glance/metadefs, as Glance)')
      .exitOverride()
      .action(exportAll);
  }
}
