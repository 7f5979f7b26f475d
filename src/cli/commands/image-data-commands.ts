/**
 * image-upload and image-download: streaming, with a progress bar on a terminal, downloads
 * verified against the image's checksum and multihash before they count as done.
 *
 * Unlike glanceclient, standard input is image data only when asked for with `--file -`:
 * a script that happens to run with a pipe on stdin must not upload it by accident.
 */
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { IrisApiError, IrisClientError } from '../../client/index.js';
import { CliError } from '../iris-cli/cli-io.js';
import { integer } from '../iris-cli/option-parsers.js';
import type { CommandContext } from './command-context.js';
import { envValue, validateStore } from './store-checks.js';

/**
 * Sends `file` (a path, or `-` for standard input) as image `id`'s data: uploaded, or staged for
 * a `glance-direct` import when `options.stage` is set.
 */
export async function uploadData(
  ctx: CommandContext,
  id: string,
  file: string,
  options: { progress?: boolean; size?: number; store?: string; stage?: boolean } = {},
): Promise<void> {
  const bar = ctx.progress(options.progress);
  const onProgress = (n: number, total: number | undefined): void => bar.update(n, total);
  const images = ctx.client().images;
  const sendOptions = { size: options.size, store: options.store, onProgress };
  if (file === '-') {
    if (ctx.io.stdin.isTTY) throw new CliError('--file - reads image data from standard input, which is a terminal');
    await (options.stage ? images.stage(id, ctx.io.stdin, sendOptions) : images.upload(id, ctx.io.stdin, sendOptions));
  } else {
    await (options.stage ? images.stageFile(id, file, sendOptions) : images.uploadFile(id, file, sendOptions));
  }
  bar.finish();
}

export function registerImageDataCommands(program: Command, ctx: CommandContext): void {
  program
    .command('image-upload')
    .description('Upload data for a specific image.')
    .argument('<IMAGE_ID>', 'ID of image to upload data to.')
    .option('--file <FILE>', 'Local file that contains disk image to be uploaded ("-" reads standard input).')
    .option('--size <IMAGE_SIZE>', 'Size in bytes of image to be uploaded (when it cannot be inferred, e.g. from stdin).', integer)
    .option('--progress', 'Show upload progress bar.')
    .option('--store <STORE>', 'Backend store to upload image to. Defaults to env[OS_IMAGE_STORE].')
    .action(async (id: string, opts: { file?: string; size?: number; progress?: boolean; store?: string }) => {
      if (opts.file === undefined) {
        throw new CliError('image-upload needs --file <FILE> (use --file - to read the image from standard input)', 2);
      }
      const store = opts.store ?? envValue(ctx, 'OS_IMAGE_STORE');
      if (store !== undefined) await validateStore(ctx, store);
      await uploadData(ctx, id, opts.file, { progress: opts.progress, size: opts.size, store });
    });

  program
    .command('image-download')
    .description('Download a specific image.')
    .argument('<IMAGE_ID>', 'ID of image to download.')
    .option('--file <FILE>', 'Local file to save downloaded image data to (written as <FILE>.part until verified). Default: standard output when it is not a terminal.')
    .option('--progress', 'Show download progress bar.')
    .action(async (id: string, opts: { file?: string; progress?: boolean }) => {
      const toStdout = opts.file === undefined || opts.file === '-';
      if (toStdout && ctx.io.stdout.isTTY) {
        throw new CliError(
          'No redirection or local file specified for downloaded image data. Please specify a local file ' +
            'with --file to save downloaded image or redirect output to another source.',
        );
      }
      const bar = ctx.progress(opts.progress);
      const onProgress = (n: number, total: number | undefined): void => bar.update(n, total);
      const images = ctx.client().images;
      try {
        if (toStdout) {
          const download = await images.download(id, { onProgress });
          // stdout stays open: the process may still print an error after the data.
          await pipeline(download.stream, ctx.io.stdout, { end: false });
        } else {
          await images.downloadToFile(id, opts.file!, { onProgress });
        }
        bar.finish();
      } catch (err) {
        if (err instanceof IrisApiError) throw new CliError(`Unable to download image '${id}'. (${err.toString()})`);
        if (err instanceof IrisClientError && err.code === 'NoImageData') throw new CliError(`Image ${id} has no data.`);
        throw err;
      }
    });
}
