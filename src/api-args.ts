/**
 * iris-api's command line. Only what oslo.config gives glance-api is accepted: anything
 * else (a typo such as --config_file, a bare path) stops the process, because starting
 * anyway would serve on defaults the operator did not choose.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { withConfigFileOptions } from './cli/config-file-options.js';

export type ApiArgs =
  /** Start: `configArgs` is the config loader's argv (--config-file/--config-dir in given order). */
  | { readonly kind: 'run'; readonly configArgs: readonly string[] }
  /** Do not start: print `stdout`/`stderr` and exit with `code`. */
  | { readonly kind: 'exit'; readonly code: number; readonly stdout: string; readonly stderr: string };

/** The version in package.json (what --version prints). */
export function irisVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Parses iris-api's arguments (without node and script). Usage errors exit 2, like oslo.config's argparse. */
export function parseApiArgs(argv: readonly string[]): ApiArgs {
  let stdout = '';
  let stderr = '';
  // Files and directories keep their relative order: a directory's files are read where it appears.
  const configArgs: string[] = [];
  const program = withConfigFileOptions(new Command('iris-api'), configArgs)
    .description('Iris image service API server (OpenStack Glance Images API v2)')
    .version(irisVersion(), '--version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode === 0) return { kind: 'exit', code: 0, stdout, stderr };
    return { kind: 'exit', code: 2, stdout, stderr: `${stderr}${program.helpInformation()}` };
  }
  return { kind: 'run', configArgs };
}
