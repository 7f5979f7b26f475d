/**
 * The table of every option Iris reads: section, name, type, default and help. The loader
 * (`load-config.ts`), the sample file (`etc/iris-api.conf.sample`) and the options table in
 * `docs/configuration.md` are all generated from it, and the `Config` type (`config.ts`) is
 * computed from it, so adding an option is one row in its section's module under options/.
 *
 * Placement in Config: an option in section `s` named `n` becomes `config[s][n]`, except
 * the Iris-only section `[iris]`, whose options are top-level fields (`config.data_dir`).
 * What a row is: option-types.ts. The converters the rows name live apart: option-values.ts
 * (value syntaxes and checks) and store-ids.ts (the enabled_backends grammar).
 */
import { resolve } from 'node:path';
import { parseBoolean, parseInteger, parseList, parseSize } from './option-values.js';
import type { ConfigOption, OptionContext, OptionType, OptionValues } from './option-types.js';
import type { GlanceStoreGroupValues } from './store-type-options.js';
import { DEFAULT_OPTIONS } from './options/default.js';
import { OSLO_LIMIT_OPTIONS } from './options/oslo-limit.js';
import { IRIS_OPTIONS } from './options/iris.js';
import { IMAGE_FORMAT_OPTIONS } from './options/image-format.js';
import { DATABASE_OPTIONS } from './options/database.js';
import { GLANCE_STORE_OPTIONS } from './options/glance-store.js';
import { OS_GLANCE_STAGING_STORE_OPTIONS } from './options/os-glance-staging-store.js';
import { OS_GLANCE_TASKS_STORE_OPTIONS } from './options/os-glance-tasks-store.js';
import { TASK_OPTIONS } from './options/task.js';
import { IMPORT_FILTERING_OPTS_OPTIONS } from './options/import-filtering-opts.js';
import { IMAGE_IMPORT_OPTS_OPTIONS } from './options/image-import-opts.js';
import { IMAGE_CONVERSION_OPTIONS } from './options/image-conversion.js';
import { INJECT_METADATA_PROPERTIES_OPTIONS } from './options/inject-metadata-properties.js';
import { GLANCE_DOWNLOAD_PROPERTIES_OPTIONS } from './options/glance-download-properties.js';
import { PASTE_DEPLOY_OPTIONS } from './options/paste-deploy.js';
import { KEYSTONE_AUTHTOKEN_OPTIONS } from './options/keystone-authtoken.js';
import { IRIS_AUTH_OPTIONS } from './options/iris-auth.js';
import { OSLO_POLICY_OPTIONS } from './options/oslo-policy.js';
import { HEALTHCHECK_OPTIONS } from './options/healthcheck.js';
import { OSLO_MIDDLEWARE_OPTIONS } from './options/oslo-middleware.js';
import { CORS_OPTIONS } from './options/cors.js';
import { OSLO_MESSAGING_NOTIFICATIONS_OPTIONS } from './options/oslo-messaging-notifications.js';
export type { ConfigOption, OptionContext, OptionType, OptionValueTypes } from './option-types.js';
export { BACKEND_OPTIONS, BACKEND_SECTION_PLACEHOLDER } from './options/backend.js';
export { IMPORT_PLUGINS } from './options/image-import-opts.js';
export { CONVERSION_OUTPUT_FORMATS } from './options/image-conversion.js';

/** The rows of every section, in the order of the sample file (its sections in first-row order). */
const CONFIG_ROWS = [
  ...DEFAULT_OPTIONS,
  ...OSLO_LIMIT_OPTIONS,
  ...IRIS_OPTIONS,
  ...IMAGE_FORMAT_OPTIONS,
  ...DATABASE_OPTIONS,
  ...GLANCE_STORE_OPTIONS,
  ...OS_GLANCE_STAGING_STORE_OPTIONS,
  ...OS_GLANCE_TASKS_STORE_OPTIONS,
  ...TASK_OPTIONS,
  ...IMPORT_FILTERING_OPTS_OPTIONS,
  ...IMAGE_IMPORT_OPTS_OPTIONS,
  ...IMAGE_CONVERSION_OPTIONS,
  ...INJECT_METADATA_PROPERTIES_OPTIONS,
  ...GLANCE_DOWNLOAD_PROPERTIES_OPTIONS,
  ...PASTE_DEPLOY_OPTIONS,
  ...KEYSTONE_AUTHTOKEN_OPTIONS,
  ...IRIS_AUTH_OPTIONS,
  ...OSLO_POLICY_OPTIONS,
  ...HEALTHCHECK_OPTIONS,
  ...OSLO_MIDDLEWARE_OPTIONS,
  ...CORS_OPTIONS,
  ...OSLO_MESSAGING_NOTIFICATIONS_OPTIONS,] as const satisfies readonly ConfigOption[];

/** The option fields of Config, computed from the rows (config.ts adds the derived fields). */
export type ConfigOptionValues = OptionValues<typeof CONFIG_ROWS> & { readonly glance_store: GlanceStoreGroupValues };

/** Every option Iris knows, in the order of the sample file. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.freeze(CONFIG_ROWS);

/**
 * Places each option's value as {@link ConfigOptionValues} says ({@link isTopLevel}); `valueOf`
 * gives the parsed value of a row. Ignored rows are asked too (so a bad value still fails)
 * but not placed.
 */
export function optionValues(valueOf: (option: ConfigOption) => unknown): ConfigOptionValues {
  const sections: Record<string, Record<string, unknown>> = {};
  const top: Record<string, unknown> = {};
  for (const option of CONFIG_OPTIONS) {
    const value = valueOf(option);
    if (option.ignored === true) continue;
    const target = isTopLevel(option) ? top : (sections[option.section] ??= {});
    target[option.name] = value;
  }
  // The one step TypeScript cannot follow: each value comes from parseOptionValue of its own
  // row, and is placed by the rule ConfigOptionValues is computed with.
  return { ...sections, ...top } as ConfigOptionValues;
}

/** The sections Iris reads itself, lower-case: no store id may take one of their names. */
export function ownSections(): ReadonlySet<string> {
  return new Set(['default', ...CONFIG_OPTIONS.map((o) => o.section.toLowerCase())]);
}

/** Where an option's value lives: `[iris]` options are top-level fields of Config. */
export function isTopLevel(option: Pick<ConfigOption, 'section'>): boolean {
  return option.section === 'iris';
}
/** The generic environment variable for an option, e.g. IRIS__DEFAULT__WORKERS. */
export function envNameOf(option: Pick<ConfigOption, 'section' | 'name'>): string {
  return `IRIS__${option.section.toUpperCase()}__${option.name.toUpperCase()}`;
}

/** A short description of an option's type and bounds, for the sample and docs. */
export function describeType(option: ConfigOption): string {
  const bounds: string[] = [];
  if (option.min !== undefined) bounds.push(`minimum ${option.min}`);
  if (option.max !== undefined) bounds.push(`maximum ${option.max}`);
  const names: Record<OptionType, string> = {
    string: 'string',
    integer: 'integer',
    boolean: 'boolean (true/false, yes/no, on/off, 1/0)',
    list: 'comma-separated list',
    size: 'size (bytes, or with unit B/KB/MB/GB/TB)',
    path: 'path',
  };
  return bounds.length === 0 ? names[option.type] : `${names[option.type]}; ${bounds.join(', ')}`;
}

/**
 * Parses one raw string (from a file or the environment) into the option's typed value,
 * applying bounds and the option's own check. Throws an Error whose message is only the
 * reason; the loader adds where the value came from.
 */
export function parseOptionValue(option: ConfigOption, raw: string, ctx: OptionContext): unknown {
  const value = parseByType(option, raw, ctx);
  if (option.convert === undefined) return value;
  return (option.convert as (v: unknown, c: OptionContext) => unknown)(value, ctx);
}

function parseByType(option: ConfigOption, raw: string, ctx: OptionContext): unknown {
  switch (option.type) {
    case 'string':
      return raw;
    case 'integer':
      return parseInteger(raw, option.min, option.max);
    case 'boolean':
      return parseBoolean(raw);
    case 'list':
      return parseList(raw);
    case 'size':
      return parseSize(raw);
    case 'path':
      if (raw === '') throw new Error('must not be empty');
      return resolve(ctx.cwd, raw);
  }
}
