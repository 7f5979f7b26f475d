/**
 * The `--config-file` and `--config-dir` options every Iris command takes, as oslo.config gives
 * them to Glance's commands: repeatable, and kept in the order given, because a directory's
 * files are read where the directory appears.
 *
 * @example
 *   const configArgs: string[] = [];
 *   withConfigFileOptions(new Command('iris-manage'), configArgs).parse(argv);
 *   loadConfig({ argv: configArgs });
 */
import type { Command } from 'commander';

/** Adds both options to `program`; each use is appended to `configArgs` (the config loader's argv). */
export function withConfigFileOptions(program: Command, configArgs: string[]): Command {
  return program
    .option('--config-file <path>', 'configuration file (repeatable; later files win)', (path: string) => {
      configArgs.push('--config-file', path);
      return path;
    })
    .option('--config-dir <dir>', 'read every *.conf in DIR, sorted by name, after the files before it (repeatable)', (dir: string) => {
      configArgs.push('--config-dir', dir);
      return dir;
    });
}
