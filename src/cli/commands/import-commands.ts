/**
 * Interoperable image import, named, flagged and worded as python-glanceclient's: image-stage,
 * image-import, image-create-via-import, image-tasks, import-info, stores-info, stores-delete.
 *
 * glance-download's `--remote-region`, `--remote-image-id` and `--remote-service-interface` are
 * refused in glanceclient 4.1's words, and sent as its `images.image_import` sends them. Its shell
 * itself never sends them (image-import reads them under the wrong attribute names, so it refuses
 * every glance-download; image-create-via-import drops them): iris does what that code means.
 *
 * As with image-upload, standard input is image data only when asked for with `--file -`
 * (glanceclient reads any non-terminal stdin), so a script with a pipe on stdin cannot stage it
 * by accident; `--file -` plays the part of glanceclient's "data via stdin" everywhere.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { IrisApiError, type CreateImageInput, type Image, type ImportOptions, type Task } from '../../client/index.js';
import { CliError } from '../iris-cli/cli-io.js';
import { integer, pyBool } from '../iris-cli/option-parsers.js';
import { formatRecord, formatRows, type Column } from '../iris-cli/output.js';
import { pyStrCell } from '../iris-cli/py-format.js';
import type { CommandContext } from './command-context.js';
import { uploadData } from './image-data-commands.js';
import { addSchemaFlags, printImage, schemaValues } from './image-commands.js';
import { envValue, importMethods, invalidMethod, validateStore } from './store-checks.js';

/** The flags image-import and image-create-via-import share. */
interface StoreFlags {
  store?: string;
  stores?: string;
  allStores?: boolean;
  allowFailure?: boolean;
}

/** glance-download's flags, shared by image-import and image-create-via-import. */
interface RemoteFlags {
  remoteRegion?: string;
  remoteImageId?: string;
  remoteServiceInterface?: string;
}

/** glanceclient's default interface, filled in only when the method is glance-download. */
const DEFAULT_REMOTE_INTERFACE = 'public';

/** Where to import to, with glanceclient's environment defaults and its one-of rule. */
interface StoreChoice {
  readonly store?: string;
  readonly stores?: readonly string[];
  readonly allStores: boolean;
  readonly allowFailure: boolean;
}

function storeChoice(ctx: CommandContext, opts: StoreFlags): StoreChoice {
  const store = opts.store ?? envValue(ctx, 'OS_IMAGE_STORE');
  const storesText = opts.stores ?? envValue(ctx, 'OS_IMAGE_STORES');
  const allStores = opts.allStores ?? false;
  const envAllow = envValue(ctx, 'OS_IMAGE_ALLOW_FAILURE');
  const allowFailure = opts.allowFailure ?? (envAllow !== undefined ? pyBool(envAllow) : true);
  if ((store && (storesText || allStores)) || (storesText && allStores)) {
    throw new CliError('Only one of --store, --stores and --all-stores can be provided');
  }
  return { store: store || undefined, stores: storesText ? storesText.split(',') : undefined, allStores, allowFailure };
}

async function validateStores(ctx: CommandContext, choice: StoreChoice): Promise<void> {
  if (choice.store !== undefined) await validateStore(ctx, choice.store);
  for (const store of choice.stores ?? []) await validateStore(ctx, store);
}

/** The request glanceclient's `images.image_import` builds from the same inputs. */
function importRequest(method: string, uri: string | undefined, choice: StoreChoice, remote: RemoteFlags): ImportOptions {
  const several = (choice.stores !== undefined && choice.stores.length > 0) || choice.allStores;
  // The remote fields go with glance-download only (the checks before refuse or ignore them
  // elsewhere), and only as a pair, as images.image_import adds them.
  const glanceDownload = method === 'glance-download' && remote.remoteRegion && remote.remoteImageId;
  return {
    method,
    uri,
    ...(glanceDownload
      ? {
          glanceRegion: remote.remoteRegion,
          glanceImageId: remote.remoteImageId,
          glanceServiceInterface: remote.remoteServiceInterface || DEFAULT_REMOTE_INTERFACE,
        }
      : {}),
    store: choice.store,
    stores: choice.stores,
    allStores: choice.allStores || undefined,
    // glanceclient sends `false` only when failures are allowed; Glance's default is true.
    allStoresMustSucceed: several && choice.allowFailure ? false : undefined,
  };
}

function addStoreFlags(cmd: Command, allStoresHelp: string): Command {
  return cmd
    .option('--store <STORE>', 'Backend store to upload image to. Defaults to env[OS_IMAGE_STORE].')
    .option('--stores <STORES>', 'Stores to upload image to if multi-stores import available. Comma separated list. Defaults to env[OS_IMAGE_STORES].')
    .option('--all-stores <True|False>', allStoresHelp, pyBool)
    .option(
      '--allow-failure <True|False>',
      'Indicator if all stores listed (or available) must succeed. "True" by default meaning that we allow some ' +
        'stores to fail and the status can be monitored from the image metadata. If this is set to "False" the ' +
        'import will be reverted should any of the uploads fail. Only usable with "stores" or "all-stores". ' +
        'Defaults to env[OS_IMAGE_ALLOW_FAILURE].',
      pyBool,
    );
}

function addRemoteFlags(cmd: Command, regionMetavar: string): Command {
  return cmd
    .option(`--remote-region <${regionMetavar}>`, 'glance-download: the region of the remote Glance to download the image from.')
    .option('--remote-image-id <REMOTE_IMAGE_ID>', 'glance-download: the ID of the image in the remote Glance.')
    .option(
      '--remote-service-interface <REMOTE_SERVICE_INTERFACE>',
      `glance-download: the catalog interface of the remote Glance (default "${DEFAULT_REMOTE_INTERFACE}").`,
    );
}

/**
 * image-import's glance-download checks, in glanceclient's order and words. An option counts as
 * given when it is non-empty; the interface's default is not "given" (else every other method
 * would be refused).
 */
function checkRemoteForImport(method: string, remote: RemoteFlags): void {
  const glanceDownload = method === 'glance-download';
  if (glanceDownload && !(remote.remoteRegion && remote.remoteImageId)) {
    throw new CliError("Provide REMOTE_IMAGE_ID and remote-region for 'glance-download' import method.");
  }
  if (remote.remoteRegion && !glanceDownload) throw new CliError("Import method should be 'glance-download' if REMOTE REGION is provided.");
  if (remote.remoteImageId && !glanceDownload) throw new CliError("Import method should be 'glance-download' if REMOTE IMAGE ID is provided.");
  if (remote.remoteServiceInterface && !glanceDownload) {
    throw new CliError("Import method should be 'glance-download' if REMOTE SERVICE INTERFACE is provided.");
  }
}

/** `image-tasks` columns (glanceclient's `print_dict_list`: Python `str()` of each value). */
function taskColumns(verbose: boolean): Column<Task>[] {
  const col = (header: string, field: string): Column<Task> => ({
    header,
    get: (t) => (field in t ? t[field] : ''),
    cell: pyStrCell,
  });
  const cols = [col('Message', 'message'), col('Status', 'status'), col('Updated at', 'updated_at')];
  if (!verbose) return cols;
  return [
    col('Image Id', 'image_id'),
    col('Task Id', 'id'),
    ...cols,
    col('User Id', 'user_id'),
    col('Request Id', 'request_id'),
    col('Result', 'result'),
    col('Owner', 'owner'),
    col('Input', 'input'),
    col('Expires at', 'expires_at'),
  ];
}

async function readable(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export function registerImportCommands(program: Command, ctx: CommandContext): void {
  program
    .command('image-stage')
    .description('Upload data for a specific image to staging.')
    .argument('<IMAGE_ID>', 'ID of image to upload data to.')
    .option('--file <FILE>', 'Local file that contains disk image to be uploaded ("-" reads standard input).')
    .option('--size <IMAGE_SIZE>', 'Size in bytes of image to be uploaded (when it cannot be inferred, e.g. from stdin).', integer)
    .option('--progress', 'Show upload progress bar.')
    .action(async (id: string, opts: { file?: string; size?: number; progress?: boolean }) => {
      if (opts.file === undefined) {
        throw new CliError('image-stage needs --file <FILE> (use --file - to read the image from standard input)', 2);
      }
      await uploadData(ctx, id, opts.file, { progress: opts.progress, size: opts.size, stage: true });
    });

  addStoreFlags(
    addRemoteFlags(
      program
        .command('image-import')
        .description('Initiate the image import taskflow.')
        .argument('<IMAGE_ID>', 'ID of image to import.')
        .option(
          '--import-method <METHOD>',
          'Import method used for Image Import workflow. Valid values can be retrieved with import-info command ' +
            'and the default "glance-direct" is used with "image-stage".',
          'glance-direct',
        )
        .option('--uri <IMAGE_URL>', 'URI to download the external image.'),
      'REMOTE_GLANCE_REGION',
    ),
    '"all-stores" can be used instead of "stores"-list to indicate that image should be imported all available stores.',
  ).action(async (id: string, opts: StoreFlags & RemoteFlags & { importMethod: string; uri?: string }) => {
    const client = ctx.client();
    const choice = storeChoice(ctx, opts);
    await validateStores(ctx, choice);
    const method = opts.importMethod;
    if (!(await importMethods(ctx)).includes(method)) throw invalidMethod(method);
    if (method === 'web-download' && !opts.uri) throw new CliError('Provide URI for web-download import method.');
    if (opts.uri && method !== 'web-download') throw new CliError("Import method should be 'web-download' if URI is provided.");
    checkRemoteForImport(method, opts);
    if (method === 'copy-image' && !(choice.stores || choice.allStores)) {
      throw new CliError("Provide either --stores or --all-stores for 'copy-image' import method.");
    }
    const image = await client.images.get(id);
    if (!(image.container_format && image.disk_format)) {
      throw new CliError("The 'container_format' and 'disk_format' properties must be set on an image before it can be imported.");
    }
    if (method === 'glance-direct' && image.status !== 'uploading') {
      throw new CliError("The 'glance-direct' import method can only be applied to an image in status 'uploading'");
    }
    if (method === 'web-download' && image.status !== 'queued') {
      throw new CliError("The 'web-download' import method can only be applied to an image in status 'queued'");
    }
    if (method === 'copy-image' && image.status !== 'active') {
      throw new CliError("The 'copy-image' import method can only be used on an image with status 'active'.");
    }
    await client.images.import(id, importRequest(method, opts.uri, choice, opts));
    printImage(ctx, await client.images.get(id));
  });

  const createViaImport = addStoreFlags(
    addSchemaFlags(
      program
        .command('image-create-via-import')
        .summary('EXPERIMENTAL: Create a new image via image import.')
        .description(
          'EXPERIMENTAL: Create a new image via image import. With an import method (or env[OS_IMAGE_IMPORT_METHOD]) ' +
            'give the data that method needs (--file for glance-direct, --uri for web-download); with --file and no ' +
            "method, 'glance-direct' is used; with neither, only the image record is created (status queued).",
        ),
      true,
    )
      .option('--file <FILE>', 'Local file that contains disk image to be uploaded during creation ("-" reads standard input).')
      .option('--progress', 'Show upload progress bar.')
      .option(
        '--import-method <METHOD>',
        'Import method used for Image Import workflow. Valid values can be retrieved with import-info command. ' +
          "Defaults to env[OS_IMAGE_IMPORT_METHOD] or if that is undefined uses 'glance-direct' if data is provided " +
          'using --file. Otherwise, simply creates an image record if no import-method and no data is supplied.',
      )
      .option('--uri <IMAGE_URL>', 'URI to download the external image.'),
    '"all-stores" can be used instead of "stores"-list to indicate that image should be imported into all available stores.',
  );
  addRemoteFlags(createViaImport, 'GLANCE_REGION').action(async (opts: StoreFlags & RemoteFlags & Record<string, any>) => {
    const fields = schemaValues(opts, true);
    const fileArg: string | undefined = opts.file;
    const usingStdin = fileArg === '-';
    const fileName = usingStdin ? undefined : fileArg;
    const uri: string | undefined = opts.uri;
    const hasData = fileArg !== undefined;

    // glanceclient's on_data_require_fields: data needs both formats.
    const given = [fileName !== undefined ? '--file' : undefined, uri ? '--uri' : undefined].filter((x) => x !== undefined);
    const missing = ['disk_format', 'container_format'].filter((k) => fields[k] === undefined);
    if ((given.length > 0 || usingStdin) && missing.length > 0) {
      const what = given.length > 0 ? given.join(', ') : 'stdin';
      throw new CliError(`Must provide ${missing.map((m) => `--${m.replace('_', '-')}`).join(', ')} when using ${what}.`, 2);
    }

    let method: string | undefined = opts.importMethod ?? envValue(ctx, 'OS_IMAGE_IMPORT_METHOD');
    if (method === undefined && hasData) method = 'glance-direct';
    if (method === 'copy-image') throw new CliError("Import method 'copy-image' cannot be used while creating the image.");
    if (method !== undefined && !(await importMethods(ctx)).includes(method)) throw invalidMethod(method);

    const choice = storeChoice(ctx, opts);
    await validateStores(ctx, choice);
    const { store, stores, allStores } = choice;

    if (method === undefined && uri) throw new CliError('You cannot use --uri without specifying an import method.');
    if (method === 'glance-direct') {
      if (store && !hasData) throw new CliError('--store option should only be provided with --file option or stdin for the glance-direct import method.');
      if (stores && !hasData) throw new CliError('--stores option should only be provided with --file option or stdin for the glance-direct import method.');
      if (allStores && !hasData) throw new CliError('--all-stores option should only be provided with --file option or stdin for the glance-direct import method.');
      if (uri) throw new CliError('You cannot specify a --uri with the glance-direct import method.');
      if (fileName !== undefined && !(await readable(fileName))) {
        throw new CliError(`File ${fileName} does not exist or user does not have read privileges to it.`);
      }
      if (!hasData) throw new CliError('You must specify a --file or provide data via stdin for the glance-direct import method.');
    }
    if (method === 'web-download') {
      if (store && !uri) throw new CliError('--store option should only be provided with --uri option for the web-download import method.');
      if (stores && !uri) throw new CliError('--stores option should only be provided with --uri option for the web-download import method.');
      if (allStores && !uri) throw new CliError('--all-stores option should only be provided with --uri option for the web-download import method.');
      if (!uri) throw new CliError("URI is required for web-download import method. Please use '--uri <uri>'.");
      if (fileName !== undefined) throw new CliError('You cannot specify a --file with the web-download import method.');
      if (usingStdin) throw new CliError('You cannot pass data via stdin with the web-download import method.');
    }
    // With another method glanceclient refuses no remote flag here; iris then leaves them out.
    if (method === 'glance-download') {
      if (!(opts.remoteRegion && opts.remoteImageId)) {
        throw new CliError(
          'REMOTE GlANCE REGION and REMOTE IMAGE ID are required for glance-download import method. ' +
            'Please use --remote-region <region> and --remote-image-id <remote-image-id>.',
        );
      }
      if (uri) throw new CliError('You cannot specify a --uri with the glance-download import method.');
      if (fileName !== undefined) throw new CliError('You cannot specify a --file with the glance-download import method.');
      if (usingStdin) throw new CliError('You cannot pass data via stdin with the glance-download import method.');
    }

    const client = ctx.client();
    let image: Image = await client.images.create(fields as CreateImageInput);
    try {
      if (method !== undefined) {
        if (hasData) await uploadData(ctx, image.id, fileArg, { progress: opts.progress, stage: true });
        await client.images.import(image.id, importRequest(method, uri, choice, opts));
      }
      image = await client.images.get(image.id);
    } finally {
      // As glanceclient: the image is printed even when staging or the import failed, so the
      // user learns which record was created.
      printImage(ctx, image);
    }
  });

  program
    .command('image-tasks')
    .description('Get tasks associated with image')
    .argument('<IMAGE_ID>', 'ID of image to get tasks.')
    .action(async (id: string) => {
      let tasks: Task[];
      try {
        tasks = await ctx.client().images.tasks(id);
      } catch (err) {
        if (err instanceof IrisApiError && err.status === 404) throw new CliError(`Image ${id} not found.`);
        if (err instanceof IrisApiError && err.status === 501) throw new CliError('Server does not support image tasks API (v2.12)');
        throw err;
      }
      ctx.print(formatRows(taskColumns(Boolean(ctx.globals().verbose)), tasks, ctx.output()));
    });

  program
    .command('import-info')
    .description('Print import methods available from Glance.')
    .action(async () => {
      let info: Record<string, unknown>;
      try {
        info = { ...(await ctx.client().info.import()) };
      } catch (err) {
        if (err instanceof IrisApiError && err.status === 404) throw new CliError('Target Glance does not support Image Import workflow');
        throw err;
      }
      ctx.print(formatRecord(info, ctx.output({ maxWidth: 80 })));
    });

  program
    .command('stores-info')
    .description('Print available backends from Glance.')
    .option('--detail', 'Shows details of stores. Admin only.')
    .action(async (opts: { detail?: boolean }) => {
      const info = ctx.client().info;
      let stores: Record<string, unknown>;
      try {
        stores = { ...(opts.detail ? await info.storesDetail() : await info.stores()) };
      } catch (err) {
        if (err instanceof IrisApiError && err.status === 404) throw new CliError('Multi Backend support is not enabled');
        throw err;
      }
      ctx.print(formatRecord(stores, ctx.output({ maxWidth: 80 })));
    });

  program
    .command('stores-delete')
    .description('Delete image from specific store.')
    .argument('<IMAGE_ID>', 'ID of image to update.')
    .requiredOption('--store <STORE_ID>', 'Store to delete image from.')
    .action(async (id: string, opts: { store: string }) => {
      try {
        await ctx.client().images.deleteFromStore(id, opts.store);
      } catch (err) {
        if (err instanceof IrisApiError && err.status === 404) {
          throw new CliError('Multi Backend support is not enabled or Image/store not found.');
        }
        if (err instanceof IrisApiError) {
          throw new CliError(`Unable to delete image '${id}' from store '${opts.store}'. (${err.toString()})`);
        }
        throw err;
      }
    });
}
