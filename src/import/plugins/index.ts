/**
 * Glance's import plugins, built from the configuration in the order
 * `[image_import_opts] image_import_plugins` lists them (Glance loads them by name with
 * stevedore, `name_order=True`). The names were checked when the configuration was loaded.
 */
import type { Config } from '../../config/config.js';
import type { ImportPlugin } from '../../domain/ports.js';
import { createImageConversionPlugin } from './image-conversion.js';
import { createImageDecompressionPlugin } from './image-decompression.js';
import { createInjectImageMetadataPlugin } from './inject-image-metadata.js';

/** Where plugins report what operators should see (a pino logger fits). */
export interface PluginLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ImportPluginsOptions {
  readonly logger?: PluginLogger;
  /** Executables, for tests (defaults: found on PATH). */
  readonly tools?: { readonly qemuImg?: string; readonly unzip?: string; readonly lha?: string };
}

/**
 * The configured plugins, in order; [] when none are configured.
 * @example createImageImportService({ …, plugins: createImportPlugins(config) })
 */
export function createImportPlugins(
  config: Pick<Config, 'DEFAULT' | 'image_format' | 'image_import_opts' | 'image_conversion' | 'inject_metadata_properties'>,
  opts: ImportPluginsOptions = {},
): ImportPlugin[] {
  const { logger, tools = {} } = opts;
  return config.image_import_opts.image_import_plugins.map((name): ImportPlugin => {
    switch (name) {
      case 'image_conversion':
        return createImageConversionPlugin({
          outputFormat: config.image_conversion.output_format,
          imageSizeCap: config.DEFAULT.image_size_cap,
          gptSafetyChecksNonfatal: config.image_format.gpt_safety_checks_nonfatal,
          qemuImg: tools.qemuImg,
          onRun: ({ imageId, args }) => logger?.info({ image: imageId, command: 'qemu-img', args: args.slice(0, -1) }, `image_conversion: qemu-img ${args[0]}`),
        });
      case 'image_decompression':
        return createImageDecompressionPlugin({ imageSizeCap: config.DEFAULT.image_size_cap, unzip: tools.unzip, lha: tools.lha });
      case 'inject_image_metadata':
        return createInjectImageMetadataPlugin({
          inject: config.inject_metadata_properties.inject,
          ignoreUserRoles: config.inject_metadata_properties.ignore_user_roles,
          onDropped: ({ imageId, key }) => logger?.warn({ image: imageId, key }, 'inject_image_metadata: dropped a property in the reserved os_glance namespace'),
        });
      case 'no_op':
        // Glance's no_op only logs that it ran.
        return { name: 'no_op', run: async () => undefined };
      default:
        throw new Error(`unknown import plugin ${name}`);
    }
  });
}
