/**
 * Checks the import commands share with image-upload, in glanceclient's words: is a store
 * known to the cloud, is an import method enabled, and the `OS_IMAGE_*` defaults.
 */
import { IrisApiError } from '../../client/index.js';
import { CliError } from '../iris-cli/cli-io.js';
import type { CommandContext } from './command-context.js';

/** An environment variable's value, unset when empty (glanceclient's `utils.env`). */
export function envValue(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.io.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * glanceclient's `_validate_backend`: `store` must be one of `/v2/info/stores`; a cloud without
 * that endpoint (404, a single store) is not checked, for backward compatibility.
 */
export async function validateStore(ctx: CommandContext, store: string): Promise<void> {
  let ids: string[];
  try {
    ids = (await ctx.client().info.stores()).stores.map((s) => s.id);
  } catch (err) {
    if (err instanceof IrisApiError && err.status === 404) return;
    throw err;
  }
  if (!ids.includes(store)) {
    throw new CliError(`Store '${store}' is not valid for this cloud. Valid values can be retrieved with stores-info command.`);
  }
}

/** The import methods the cloud enables; CliError in glanceclient's words when it has no import. */
export async function importMethods(ctx: CommandContext): Promise<readonly string[]> {
  try {
    return (await ctx.client().info.import())['import-methods']?.value ?? [];
  } catch (err) {
    if (err instanceof IrisApiError && err.status === 404) throw new CliError('Target Glance does not support Image Import workflow');
    throw err;
  }
}

export function invalidMethod(method: string): CliError {
  return new CliError(`Import method '${method}' is not valid for this cloud. Valid values can be retrieved with import-info command.`);
}
