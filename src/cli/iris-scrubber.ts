/**
 * iris-scrubber: glance-scrubber for Iris. Deletes the data of images a delayed delete
 * ([DEFAULT] delayed_delete) left in pending_delete once scrub_time has passed, in every
 * store, and marks them deleted; also sweeps the data of deleted images that stayed behind.
 *
 *   iris-scrubber [--config-file PATH]... [--config-dir DIR]...           one run, then exit (as glance-scrubber)
 *   iris-scrubber … --once                                                 the same, said explicitly
 *   iris-scrubber … --daemon | -D                                          a run every [DEFAULT] wakeup_time seconds
 *   iris-scrubber … --restore <image-id>                                   pending_delete → active, silently (exit 0)
 *
 * Errors print `ERROR: <message>` on stderr and exit 1, with glance-scrubber's messages.
 * Several scrubbers (on several nodes) may run on one database: claims in the database keep
 * them from deleting the same data twice, so --restore needs no "is a scrubber running" check.
 * Configuration is read exactly as iris-api reads it (same files, same environment).
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { withConfigFileOptions } from './config-file-options.js';
import { configuredBlobStore } from '../blob/configured-stores.js';
import { currentWriter, formatWriter, isDeadLocalWriter, parseWriter } from '../blob/writer-identity.js';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { IrisError } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import { createLogging } from '../logging.js';
import { openConfiguredDatabase } from '../persistence/configured-database.js';
import { schemaStatus } from '../persistence/migrator.js';
import { createScrubQueue } from '../persistence/scrub-queue.js';
import { createScrubber, type ScrubReport } from '../services/scrubber.js';

export interface ScrubberIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly fd?: number };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly fd?: number };
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Ends a daemon (default: SIGTERM or SIGINT). */
  readonly stop?: AbortSignal;
  /** The scrubber's clock (default the system clock). */
  readonly clock?: Clock;
}

/** A failure glance-scrubber reports as `ERROR: …` with exit code 1. */
class ScrubberError extends Error {}

/** This process's claim owner id, and which owners are this node's dead processes. */
function claimIdentity() {
  return {
    owner: formatWriter(currentWriter()),
    isDeadOwner: (owner: string) => {
      const writer = parseWriter(owner);
      return writer !== undefined && isDeadLocalWriter(writer);
    },
  };
}

/** The default stop signal of a daemon: SIGTERM or SIGINT. */
function signalStop(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop).once('SIGINT', stop);
  return controller.signal;
}

/**
 * Runs iris-scrubber with `argv` (arguments only) and resolves to the exit code; never calls
 * process.exit. A daemon resolves once `io.stop` (default SIGTERM/SIGINT) fires and the run in
 * progress has stopped.
 *
 * @example process.exitCode = await runScrubber(process.argv.slice(2));
 */
export async function runScrubber(argv: readonly string[], io: ScrubberIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const configArgs: string[] = [];
  const program = withConfigFileOptions(new Command('iris-scrubber'), configArgs)
    .description('Delete the data of images pending delete once scrub_time has passed (glance-scrubber)')
    .option('-D, --daemon', 'keep running: one run every [DEFAULT] wakeup_time seconds')
    .option('--once', 'one run, then exit (the default)')
    .option('--restore <image_id>', "restore the image's status from 'pending_delete' to 'active'")
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) });

  let opts: { daemon?: boolean; once?: boolean; restore?: string };
  try {
    program.parse([...argv], { from: 'user' });
    opts = program.opts();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }

  const fail = (message: string): number => {
    io.stderr.write(`ERROR: ${message}\n`);
    return 1;
  };
  if (opts.restore !== undefined && opts.daemon === true) {
    return fail('The restore and daemon options should not be set together. Please use either of them in one request.');
  }
  if (opts.once === true && opts.daemon === true) return fail('The once and daemon options should not be set together.');

  let config: Config;
  try {
    config = loadConfig({ argv: configArgs, env: io.env ?? process.env, cwd: io.cwd ?? process.cwd() });
  } catch (e) {
    return fail((e as Error).message);
  }
  const logging = createLogging(config, { stdout: io.stdout, stderr: io.stderr, program: 'iris-scrubber' }, io.cwd ?? process.cwd());
  const logger = logging.logger;
  const clock = io.clock ?? { now: () => new Date() };
  try {
    const database = await openConfiguredDatabase(config.database, {
      onRetry: (err, attempt) => logger.warn({ err, attempt }, 'database not reachable yet; retrying'),
    });
    try {
      const status = await schemaStatus(database.db);
      if (status.pending.length > 0) throw new ScrubberError('the database schema is not up to date: run `iris-manage db sync` first');
      const queue = createScrubQueue(database.db, { engine: database.engine });
      if (opts.restore !== undefined) {
        const scrubber = createScrubber({
          queue,
          blobs: { delete: () => Promise.reject(new Error('a restore deletes nothing')) },
          clock,
          ...claimIdentity(),
          scrubTimeSeconds: config.DEFAULT.scrub_time,
          poolSize: config.DEFAULT.scrub_pool_size,
          claimMs: config.scrub_claim_seconds * 1000,
          log: logger,
        });
        await scrubber.restore(opts.restore);
        logger.info({ image: opts.restore }, 'image restored from pending_delete to active');
        return 0;
      }
      const blobs = configuredBlobStore(config, logger);
      try {
        const scrubber = createScrubber({
          queue,
          blobs,
          clock,
          ...claimIdentity(),
          scrubTimeSeconds: config.DEFAULT.scrub_time,
          poolSize: config.DEFAULT.scrub_pool_size,
          claimMs: config.scrub_claim_seconds * 1000,
          log: logger,
        });
        const logRun = (report: ScrubReport) =>
          logger.info(
            { images_deleted: report.imagesDeleted, locations_scrubbed: report.locationsScrubbed, orphans_swept: report.orphansSwept, failures: report.failures },
            'scrubber run finished',
          );
        if (opts.daemon !== true) {
          const report = await scrubber.runOnce();
          logRun(report);
          return 0;
        }
        const stop = io.stop ?? signalStop();
        logger.info({ wakeup_time: config.DEFAULT.wakeup_time, scrub_pool_size: config.DEFAULT.scrub_pool_size }, 'Starting Daemon');
        // One run at a time: the next starts wakeup_time after the last one ended.
        while (!stop.aborted) {
          try {
            const report = await scrubber.runOnce(stop);
            logRun(report);
          } catch (err) {
            // Glance's daemon logs a run that could not read its queue and tries again next time.
            logger.error({ err }, 'Can not get scrub jobs from queue');
          }
          await sleep(config.DEFAULT.wakeup_time * 1000, undefined, { signal: stop }).catch((e: unknown) => {
            if (!stop.aborted) throw e;
          });
        }
        logger.info({}, 'Daemon stopped');
        return 0;
      } finally {
        await blobs.close();
      }
    } finally {
      await database.close();
    }
  } catch (e) {
    if (e instanceof ScrubberError || e instanceof IrisError) return fail(e.message);
    logger.error({ err: e }, 'scrubber failed');
    return fail((e as Error).message);
  } finally {
    await logging.close();
  }
}

// Run when executed directly (`node --import tsx src/cli/iris-scrubber.ts …`); bin/iris-scrubber.js
// imports the module and calls runScrubber itself.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runScrubber(process.argv.slice(2));
}
