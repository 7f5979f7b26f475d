/**
 * The directories Iris writes to, checked (and created, as Glance's filesystem store creates
 * its datadir) before anything else runs, so that a wrong path stops the start with one line
 * naming the option and the path instead of a stack trace from deep inside a store.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from './config/config.js';

/** A directory Iris needs, and the option that places it. */
export interface DataPath {
  readonly option: string;
  readonly dir: string;
}

/** Same mode the filesystem driver gives the directories it makes. */
const DIR_MODE = 0o750;

/** Every directory the configuration makes Iris write to, with the option that sets it. */
export function dataPaths(config: Config): DataPath[] {
  const paths: DataPath[] = [];
  if (config.database.sqlite_path !== ':memory:') {
    paths.push({ option: '[database] connection', dir: dirname(config.database.sqlite_path) });
  }
  for (const backend of config.backends) {
    // Only file stores have a directory here; the others' data lives in their service.
    if (backend.type !== 'file') continue;
    const section = backend.legacy ? 'glance_store' : backend.id.toLowerCase();
    paths.push({ option: `[${section}] filesystem_store_datadir`, dir: backend.filesystem_store_datadir });
  }
  paths.push({
    option: config.multi_store ? '[os_glance_staging_store] filesystem_store_datadir' : '[DEFAULT] node_staging_uri',
    dir: config.staging_dir,
  });
  if (config.paste_deploy.flavor === 'apikey') {
    paths.push({ option: '[iris_auth] api_key_file', dir: dirname(config.iris_auth.api_key_file) });
  }
  return paths;
}

/**
 * Creates each directory if missing and checks that Iris can write in it. Returns one line
 * per problem ("<option>: <path>: <reason>"), empty when all is well.
 */
export function checkDataPaths(paths: readonly DataPath[]): string[] {
  const problems: string[] = [];
  for (const { option, dir } of paths) {
    try {
      mkdirSync(dir, { recursive: true, mode: DIR_MODE });
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      problems.push(`${option}: ${dir}: ${reasonOf(error)}`);
    }
  }
  return problems;
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory (ENOTDIR)';
    case 'EEXIST':
      return 'exists and is not a directory (EEXIST)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code}); the directory must be writable by the user Iris runs as`;
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'ENOENT':
      return 'a parent directory does not exist (ENOENT)';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
