/**
 * iris: the command-line client for Iris (and any Glance), in python-glanceclient's shape —
 * the same subcommands, flags, environment variables and bordered tables — plus `-f
 * json|yaml|value` and `-c COLUMN` for scripts.
 *
 *   export OS_IMAGE_URL=http://127.0.0.1:9292 OS_AUTH_TOKEN=…
 *   iris image-create --name cirros --disk-format qcow2 --container-format bare --file cirros.img --progress
 *   iris image-list -f json
 *
 * Errors are one line on stderr and a non-zero exit: 1 for a failed operation, 2 for a usage
 * error (as glanceclient's argparse).
 */
import { Command, CommanderError, Option } from 'commander';
import { IrisApiError, IrisClientError } from '../client/index.js';
import { createCommandContext, type GlobalFlags } from './commands/command-context.js';
import { registerImageCommands } from './commands/image-commands.js';
import { registerImageDataCommands } from './commands/image-data-commands.js';
import { registerImportCommands } from './commands/import-commands.js';
import { registerMemberCommands } from './commands/member-commands.js';
import { registerTaskCommands } from './commands/task-commands.js';
import { CliError, processIo, type CliIo } from './iris-cli/cli-io.js';
import { collect, positiveInteger } from './iris-cli/option-parsers.js';
import { OUTPUT_FORMATS } from './iris-cli/output.js';

const VERSION = '0.1.0';

/** One line for a failure; the first line of a long server message is the informative one. */
export function describeError(err: unknown): string {
  if (err instanceof IrisApiError) {
    const text = err.toString().split('\n')[0]!;
    return err.requestId ? `${text} (Request-ID: ${err.requestId})` : text;
  }
  if (err instanceof IrisClientError || err instanceof CliError) return err.message.split('\n')[0]!;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) return err.message;
    return `Unexpected error: ${err.message}`;
  }
  return `Unexpected error: ${String(err)}`;
}

function buildProgram(io: CliIo): Command {
  const write = (stream: NodeJS.WritableStream) => (text: string) => {
    stream.write(text);
  };
  const program = new Command('iris')
    .description('Command-line interface to the OpenStack Images API (Iris or Glance).')
    .version(VERSION, '--version')
    .exitOverride()
    .configureOutput({ writeOut: write(io.stdout), writeErr: write(io.stderr) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true })
    .option('-d, --debug', 'Print each request and answer (tokens redacted) and the peak memory on stderr.')
    .option('-v, --verbose', 'Print more output (image-list: format, size, status and owner columns).')
    .addOption(new Option('-f, --format <FORMAT>', 'Output format.').choices(OUTPUT_FORMATS).default('table'))
    .option('-c, --column <COLUMN>', 'Show only this column or field (repeatable).', collect)
    .option('--os-image-url <OS_IMAGE_URL>', 'Image API endpoint, e.g. http://127.0.0.1:9292. Defaults to env[OS_IMAGE_URL].')
    .option('--os-auth-token <OS_AUTH_TOKEN>', 'Token to send as X-Auth-Token (skips Keystone). Defaults to env[OS_AUTH_TOKEN].')
    .option('--os-auth-url <OS_AUTH_URL>', 'Keystone URL. Defaults to env[OS_AUTH_URL].')
    .option('--os-username <OS_USERNAME>', 'Defaults to env[OS_USERNAME].')
    .option('--os-user-id <OS_USER_ID>', 'Defaults to env[OS_USER_ID].')
    .option('--os-password <OS_PASSWORD>', 'Defaults to env[OS_PASSWORD].')
    .option('--os-project-name <OS_PROJECT_NAME>', 'Defaults to env[OS_PROJECT_NAME].')
    .option('--os-project-id <OS_PROJECT_ID>', 'Defaults to env[OS_PROJECT_ID].')
    .option('--os-user-domain-name <OS_USER_DOMAIN_NAME>', 'Defaults to env[OS_USER_DOMAIN_NAME], else "Default".')
    .option('--os-user-domain-id <OS_USER_DOMAIN_ID>', 'Defaults to env[OS_USER_DOMAIN_ID].')
    .option('--os-project-domain-name <OS_PROJECT_DOMAIN_NAME>', 'Defaults to env[OS_PROJECT_DOMAIN_NAME], else "Default".')
    .option('--os-project-domain-id <OS_PROJECT_DOMAIN_ID>', 'Defaults to env[OS_PROJECT_DOMAIN_ID].')
    .option('--os-region-name <OS_REGION_NAME>', 'Catalog region of the image endpoint. Defaults to env[OS_REGION_NAME].')
    .option('--os-interface <OS_INTERFACE>', 'Catalog interface: public (default), internal, admin. Defaults to env[OS_INTERFACE].')
    .option('--timeout <seconds>', 'Seconds to wait for an answer, and between data chunks (default 120).', positiveInteger);
  return program;
}

/**
 * Runs `iris` with `argv` (arguments only) and resolves to the exit code. Never calls
 * process.exit, so tests can run it in-process.
 *
 * @example process.exitCode = await runIris(process.argv.slice(2));
 */
export async function runIris(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  const ctx = createCommandContext(program, io);
  // Subcommands inherit exitOverride and the output settings from the program.
  registerImageCommands(program, ctx);
  registerImageDataCommands(program, ctx);
  registerMemberCommands(program, ctx);
  registerImportCommands(program, ctx);
  registerTaskCommands(program, ctx);

  let code = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed help, the version or its usage message.
      code = err.exitCode === 0 ? 0 : 2;
    } else {
      if (!(err instanceof CliError && err.message === '')) io.stderr.write(`${describeError(err)}\n`);
      if (program.opts<GlobalFlags>().debug && err instanceof Error && !(err instanceof CliError) && err.stack) {
        io.stderr.write(`DEBUG: ${err.stack}\n`);
      }
      code = err instanceof CliError ? err.exitCode : 1;
    }
  } finally {
    await ctx.close();
  }
  if (program.opts<GlobalFlags>().debug) {
    // In KiB, the peak resident set of this process: lets a test (or a user) see that a large
    // download streamed rather than buffered.
    io.stderr.write(`DEBUG: peak RSS ${process.resourceUsage().maxRSS} KiB\n`);
  }
  return code;
}
