/**
 * What every `iris` subcommand needs: the SDK client (built on first use from the global
 * options and the environment), the output settings, and the process streams.
 */
import type { Command } from 'commander';
import { createIrisClient, type IrisClient } from '../../client/index.js';
import type { CliIo } from '../iris-cli/cli-io.js';
import { connectionOptions, type ConnectionFlags } from '../iris-cli/connection-options.js';
import type { OutputFormat, OutputOptions } from '../iris-cli/output.js';
import { createProgressBar, type ProgressBar } from '../iris-cli/progress-bar.js';

/** The global options besides the connection ones. */
export interface GlobalFlags extends ConnectionFlags {
  readonly debug?: boolean;
  readonly verbose?: boolean;
  readonly format?: OutputFormat;
  readonly column?: string[];
}

export interface CommandContext {
  readonly io: CliIo;
  /** The client; created on the first call, closed by `close()`. */
  client(): IrisClient;
  globals(): GlobalFlags;
  output(extra?: { maxWidth?: number }): OutputOptions;
  /** A progress bar on stderr when `enabled` and stderr is a terminal; otherwise silent. */
  progress(enabled: boolean | undefined): ProgressBar;
  print(text: string): void;
  close(): Promise<void>;
}

export function createCommandContext(program: Command, io: CliIo): CommandContext {
  let client: IrisClient | undefined;
  const globals = (): GlobalFlags => program.opts<GlobalFlags>();
  return {
    io,
    globals,
    client() {
      if (client === undefined) {
        const g = globals();
        client = createIrisClient({
          ...connectionOptions(g, io.env),
          userAgent: 'iris-cli',
          debug: g.debug ? (line) => io.stderr.write(`DEBUG: ${line}\n`) : undefined,
        });
      }
      return client;
    },
    output(extra = {}) {
      const g = globals();
      return { format: g.format ?? 'table', columns: g.column ?? [], maxWidth: extra.maxWidth };
    },
    progress: (enabled) => createProgressBar(enabled ? io.stderr : { write: () => true, isTTY: false }),
    print: (text) => {
      io.stdout.write(text);
    },
    async close() {
      await client?.close();
    },
  };
}
