/**
 * The image-* subcommands, named and flagged as python-glanceclient's: image-list, image-show,
 * image-create, image-update, image-delete, image-deactivate, image-reactivate,
 * image-tag-update, image-tag-delete. Data transfer (image-upload, image-download) is in
 * image-data-commands.ts.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { IrisApiError, type CreateImageInput, type Image, type ListAllImagesOptions } from '../../client/index.js';
import { CliError } from '../iris-cli/cli-io.js';
import { collect, collectChoice, integer, keyValues, positiveInteger, pyBool } from '../iris-cli/option-parsers.js';
import { formatRecord, formatRows } from '../iris-cli/output.js';
import type { CommandContext } from './command-context.js';
import { uploadData } from './image-data-commands.js';
import { imageListColumns, imageRecord } from './image-view.js';
import { envValue, validateStore } from './store-checks.js';

/** glanceclient's sort keys and directions (`images.SORT_KEY_VALUES` / `SORT_DIR_VALUES`). */
const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
const SORT_DIRS = ['asc', 'desc'];

/**
 * Flags glanceclient derives from the image schema, for image-create and image-update:
 * flag, the attribute it sets, its help, and how its value is read.
 */
interface SchemaFlag {
  readonly flags: string;
  readonly attribute: string;
  readonly help: string;
  readonly parse?: (value: string) => unknown;
  /** The text a `[True|False]` flag given bare stands for (it goes through `parse` too). */
  readonly preset?: string;
  readonly createOnly?: boolean;
}

const SCHEMA_FLAGS: readonly SchemaFlag[] = [
  { flags: '--architecture <ARCHITECTURE>', attribute: 'architecture', help: 'Operating system architecture' },
  { flags: '--protected [True|False]', attribute: 'protected', help: 'If true, image will not be deletable.', parse: pyBool, preset: 'True' },
  { flags: '--name <NAME>', attribute: 'name', help: 'Descriptive name for the image' },
  { flags: '--instance-uuid <INSTANCE_UUID>', attribute: 'instance_uuid', help: 'ID of the instance the image was made from (informational only)' },
  { flags: '--min-disk <MIN_DISK>', attribute: 'min_disk', help: 'Amount of disk space (in GB) required to boot image.', parse: integer },
  { flags: '--visibility <VISIBILITY>', attribute: 'visibility', help: 'Scope of image accessibility: public, private, community, shared' },
  { flags: '--kernel-id <KERNEL_ID>', attribute: 'kernel_id', help: 'ID of the kernel image of an AMI-style image' },
  { flags: '--tags <TAGS...>', attribute: 'tags', help: 'List of strings related to the image', createOnly: true },
  { flags: '--os-version <OS_VERSION>', attribute: 'os_version', help: 'Operating system version as specified by the distributor' },
  { flags: '--disk-format <DISK_FORMAT>', attribute: 'disk_format', help: 'Format of the disk (raw, qcow2, vmdk, vhd, vhdx, vdi, iso, ploop, ami, ari, aki)' },
  { flags: '--os-distro <OS_DISTRO>', attribute: 'os_distro', help: 'Common name of the operating system distribution' },
  { flags: '--id <ID>', attribute: 'id', help: 'An identifier for the image', createOnly: true },
  { flags: '--owner <OWNER>', attribute: 'owner', help: 'Owner of the image' },
  { flags: '--ramdisk-id <RAMDISK_ID>', attribute: 'ramdisk_id', help: 'ID of the ramdisk image of an AMI-style image' },
  { flags: '--min-ram <MIN_RAM>', attribute: 'min_ram', help: 'Amount of ram (in MB) required to boot image.', parse: integer },
  { flags: '--container-format <CONTAINER_FORMAT>', attribute: 'container_format', help: 'Format of the container (bare, ovf, ova, docker, ami, ari, aki, compressed)' },
  { flags: '--hidden [True|False]', attribute: 'os_hidden', help: 'If true, image will not appear in default image list response.', parse: pyBool, preset: 'True' },
];

/** commander's key for a flag: `--min-disk <X>` → `minDisk`. */
function optionKey(flags: string): string {
  const long = flags.split(/[ ,]/)[0]!.replace(/^--/, '');
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Adds the schema flags and `--property` (create: also `--id` and `--tags`). */
export function addSchemaFlags(cmd: Command, forCreate: boolean): Command {
  for (const f of SCHEMA_FLAGS) {
    if (f.createOnly && !forCreate) continue;
    const option = new Option(f.flags, f.help);
    if (f.parse !== undefined) option.argParser(f.parse);
    if (f.preset !== undefined) option.preset(f.preset);
    cmd.addOption(option);
  }
  return cmd.option('--property <key=value>', 'Arbitrary property to associate with image. May be used multiple times.', collect);
}

/** The attributes the schema flags and `--property` set, as one object. */
export function schemaValues(opts: Record<string, unknown>, forCreate: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of SCHEMA_FLAGS) {
    if (f.createOnly && !forCreate) continue;
    const value = opts[optionKey(f.flags)];
    if (value !== undefined) out[f.attribute] = value;
  }
  Object.assign(out, keyValues(opts.property as string[] | undefined, '--property'));
  return out;
}

/** Prints an image as glanceclient's `print_image` does (80 columns unless told). */
export function printImage(ctx: CommandContext, image: Image, options: { humanReadable?: boolean; maxWidth?: number } = {}): void {
  ctx.print(formatRecord(imageRecord(image, options.humanReadable), ctx.output({ maxWidth: options.maxWidth ?? 80 })));
}

export function registerImageCommands(program: Command, ctx: CommandContext): void {
  program
    .command('image-list')
    .description('List images you can access.')
    .option('--limit <LIMIT>', 'Maximum number of images to get.', integer)
    .option('--page-size <SIZE>', 'Number of images to request in each paginated request.', positiveInteger)
    .option('--visibility <VISIBILITY>', 'The visibility of the images to display.')
    .option('--member-status <MEMBER_STATUS>', 'The status of images to display.')
    .option('--owner <OWNER>', 'Display images owned by <OWNER>.')
    .option('--property-filter <KEY=VALUE>', 'Filter images by a user-defined image property.', collect)
    .option('--checksum <CHECKSUM>', 'Displays images that match the MD5 checksum.')
    .option('--hash <HASH_VALUE>', 'Displays images that match the specified hash value.')
    .option('--tag <TAG>', 'Filter images by a user-defined tag.', collect)
    .addOption(new Option('--sort-key <KEY>', 'Sort image list by specified fields. May be used multiple times.').choices(SORT_KEYS).argParser(collectChoice(SORT_KEYS)))
    .addOption(new Option('--sort-dir <DIR>', 'Sort image list in specified directions.').choices(SORT_DIRS).argParser(collectChoice(SORT_DIRS)))
    .option('--sort <key>[:<direction>]', `Comma-separated list of sort keys and directions in the form of <key>[:<asc|desc>]. Valid keys: ${SORT_KEYS.join(', ')}.`)
    .addOption(new Option('--hidden [True|False]', 'Filters results by hidden status.').argParser(pyBool).preset('True'))
    .action(async (opts: Record<string, any>) => {
      const properties = keyValues(opts.propertyFilter, '--property-filter');
      const query: {
        -readonly [K in keyof ListAllImagesOptions]: ListAllImagesOptions[K];
      } = {
        visibility: opts.visibility,
        member_status: opts.memberStatus,
        owner: opts.owner,
        checksum: opts.checksum,
        os_hash_value: opts.hash,
        os_hidden: opts.hidden,
        tags: opts.tag,
        properties,
        limit: opts.limit,
        pageSize: opts.pageSize,
      };
      if (opts.sort !== undefined) query.sort = opts.sort;
      else if (opts.sortKey !== undefined || opts.sortDir !== undefined) {
        query.sortKey = opts.sortKey;
        query.sortDir = opts.sortDir;
      } else {
        // glanceclient's default order when none is asked for.
        query.sortKey = ['name'];
        query.sortDir = ['asc'];
      }
      const images: Image[] = [];
      for await (const image of ctx.client().images.listAll(query)) images.push(image);
      ctx.print(formatRows(imageListColumns(Boolean(ctx.globals().verbose)), images, ctx.output()));
    });

  program
    .command('image-show')
    .description('Describe a specific image.')
    .argument('<IMAGE_ID>', 'ID of image to describe.')
    .option('--human-readable', 'Print image size in a human-friendly format.')
    .option('--max-column-width <integer>', 'The max column width of the printed table.', positiveInteger, 80)
    .action(async (id: string, opts: { humanReadable?: boolean; maxColumnWidth: number }) => {
      const image = await ctx.client().images.get(id);
      printImage(ctx, image, { humanReadable: opts.humanReadable, maxWidth: opts.maxColumnWidth });
    });

  addSchemaFlags(program.command('image-create').description('Create a new image.'), true)
    .option('--file <FILE>', 'Local file that contains disk image to be uploaded during creation ("-" reads standard input).')
    .option('--progress', 'Show upload progress bar.')
    .option('--store <STORE>', 'Backend store to upload image to. Defaults to env[OS_IMAGE_STORE].')
    .action(async (opts: Record<string, any>) => {
      const fields = schemaValues(opts, true);
      const file: string | undefined = opts.file;
      const store: string | undefined = opts.store ?? envValue(ctx, 'OS_IMAGE_STORE');
      if (file !== undefined) {
        if (file !== '-') {
          try {
            await access(file, constants.R_OK);
          } catch {
            throw new CliError(`File ${file} does not exist or user does not have read privileges to it`);
          }
        }
        const missing = ['disk_format', 'container_format'].filter((k) => fields[k] === undefined);
        if (missing.length > 0) {
          throw new CliError(`Must provide ${missing.map((m) => `--${m.replace('_', '-')}`).join(', ')} when using --file.`, 2);
        }
      }
      // glanceclient checks the store before creating anything.
      if (store !== undefined) {
        if (file === undefined) throw new CliError('--store option should only be provided with --file option or stdin.');
        await validateStore(ctx, store);
      }
      const client = ctx.client();
      let image = await client.images.create(fields as CreateImageInput);
      if (file !== undefined) {
        try {
          await uploadData(ctx, image.id, file, { progress: opts.progress, store });
        } catch (err) {
          // The record exists; say which one, so the user can retry the upload or delete it.
          printImage(ctx, await client.images.get(image.id).catch(() => image));
          throw err;
        }
        image = await client.images.get(image.id);
      }
      printImage(ctx, image);
    });

  addSchemaFlags(program.command('image-update').description('Update an existing image.'), false)
    .argument('<IMAGE_ID>', 'ID of image to update.')
    .option('--remove-property <key>', 'Name of arbitrary property to remove from the image.', collect)
    .action(async (id: string, opts: Record<string, any>) => {
      const image = await ctx.client().images.update(id, schemaValues(opts, false), { remove: opts.removeProperty ?? [] });
      printImage(ctx, image);
    });

  program
    .command('image-delete')
    .description('Delete specified image.')
    .argument('<IMAGE_ID...>', 'ID of image(s) to delete.')
    .action(async (ids: string[]) => {
      let failed = false;
      for (const id of ids) {
        try {
          await ctx.client().images.delete(id);
        } catch (err) {
          if (!(err instanceof IrisApiError)) throw err;
          failed = true;
          // glanceclient's wording per status; one line per image, then exit 1.
          const message =
            err.status === 403
              ? `You are not permitted to delete the image '${id}'.`
              : err.status === 404
                ? `No image with an ID of '${id}' exists.`
                : err.status === 409
                  ? `Unable to delete image '${id}' because it is in use.`
                  : `'${err.toString()}': Unable to delete image '${id}'`;
          ctx.io.stderr.write(`${message}\n`);
        }
      }
      if (failed) throw new CliError('', 1);
    });

  program
    .command('image-deactivate')
    .description('Deactivate specified image.')
    .argument('<IMAGE_ID>', 'ID of image to deactivate.')
    .action(async (id: string) => {
      await ctx.client().images.deactivate(id);
    });

  program
    .command('image-reactivate')
    .description('Reactivate specified image.')
    .argument('<IMAGE_ID>', 'ID of image to reactivate.')
    .action(async (id: string) => {
      await ctx.client().images.reactivate(id);
    });

  program
    .command('image-tag-update')
    .description('Update an image with the given tag.')
    .argument('<IMAGE_ID>', 'Image to be updated with the given tag.')
    .argument('<TAG_VALUE>', 'Value of the tag.')
    .action(async (id: string, tag: string) => {
      const client = ctx.client();
      await client.images.addTag(id, tag);
      const image = await client.images.get(id);
      ctx.print(
        formatRows(
          [
            { header: 'ID', get: (i: Image) => i.id },
            { header: 'Tags', get: (i: Image) => i.tags },
          ],
          [image],
          ctx.output(),
        ),
      );
    });

  program
    .command('image-tag-delete')
    .description('Delete the tag associated with the given image.')
    .argument('<IMAGE_ID>', 'ID of the image from which to delete tag.')
    .argument('<TAG_VALUE>', 'Value of the tag.')
    .action(async (id: string, tag: string) => {
      await ctx.client().images.removeTag(id, tag);
    });
}
