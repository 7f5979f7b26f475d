/**
 * Loads the Config from defaults, INI files and the environment, driven by CONFIG_OPTIONS.
 *
 * Precedence, lowest to highest:
 *   built-in defaults
 *   < etc/iris-api.conf (relative to cwd), when present
 *   < each --config-file PATH, and each --config-dir DIR's *.conf files (sorted), in
 *     command-line order (later wins)
 *   < the file named by IRIS_CONFIG
 *   < short environment aliases (IRIS_HOST, IRIS_PORT, IRIS_DATA_DIR)
 *   < IRIS__SECTION__OPTION environment variables.
 *
 * With [DEFAULT] enabled_backends, each enabled store's own section ([<id>], or IRIS__<ID>__…)
 * is read for BACKEND_OPTIONS, with the same precedence; the derived fields (backends,
 * default_backend_id, staging_dir…) are computed and cross-checked last.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BackendConfig, Config } from './config.js';
import { ConfigError } from './config-error.js';
import {
  BACKEND_OPTIONS,
  CONFIG_OPTIONS,
  optionValues,
  ownSections,
  parseOptionValue,
  type ConfigOption,
  type ConfigOptionValues,
  type OptionContext,
} from './config-options.js';
import { IniSyntaxError, parseIniEntries } from './ini.js';
import { stagingPathFromUri } from './option-values.js';
import { parseEnabledBackends } from './store-ids.js';
import { parseDatabaseUrl } from '../persistence/database-url.js';
import { isStoreTypeOption, storeTypeOptionNames, storeTypeProblem, type IrisStoreType } from './store-type-options.js';

export { CONFIG_OPTIONS } from './config-options.js';
export { ConfigError } from './config-error.js';

export interface LoadConfigOptions {
  /** Command-line arguments (without node and script); default `process.argv.slice(2)`. */
  readonly argv?: readonly string[];
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory relative paths resolve against; default `process.cwd()`. */
  readonly cwd?: string;
}

/** One raw value for a known option spelling, with a human-readable origin. */
interface Assignment {
  readonly section: string;
  readonly name: string;
  readonly value: string;
  /** "/path/file.conf:12" or "environment variable IRIS_PORT". */
  readonly origin: string;
}

/**
 * A file entry or IRIS__… variable that names no option of CONFIG_OPTIONS: unknown, unless it
 * turns out to be an option of an enabled store's own section ({@link BACKEND_OPTIONS}).
 */
interface Extra {
  /** As reported in unknown_options: `section.option`, or the variable's name. */
  readonly label: string;
  /** Case-folded section ('' when a variable has no section part). */
  readonly section: string;
  readonly name: string;
  /** Variables match option names case-insensitively; file entries do not. */
  readonly foldName: boolean;
  readonly value: string;
  readonly origin: string;
}

/** A known spelling: the option it sets, and whether it is a deprecated alias. */
interface Spelling {
  readonly option: ConfigOption;
  readonly section: string;
  readonly name: string;
  readonly deprecated: boolean;
}

const SPELLINGS: readonly Spelling[] = CONFIG_OPTIONS.flatMap((option) => [
  { option, section: option.section, name: option.name, deprecated: false },
  ...(option.deprecatedNames ?? []).map((old) => ({ option, section: old.section, name: old.name, deprecated: true })),
]);
const BY_EXACT_NAME = new Map(SPELLINGS.map((s) => [`${s.section}\0${s.name}`, s]));
const BY_FOLDED_NAME = new Map(SPELLINGS.map((s) => [`${s.section.toLowerCase()}\0${s.name.toLowerCase()}`, s]));
const DATA_DIR = CONFIG_OPTIONS.find((o) => o.section === 'iris' && o.name === 'data_dir');

/**
 * Builds the deeply frozen Config the whole process shares, so that every component reads
 * the same validated values and a bad setting stops startup with a message naming where
 * it came from. Throws ConfigError.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const argv = opts.argv ?? process.argv.slice(2);

  const assignments: Assignment[] = [];
  const sources: string[] = [];
  const extras: Extra[] = [];
  const readConfigFile = (path: string, via: string | null): void => {
    const text = readText(path, via);
    let entries;
    try {
      entries = parseIniEntries(text, path);
    } catch (error) {
      if (error instanceof IniSyntaxError) {
        throw new ConfigError(`Malformed configuration file ${error.message}`, { cause: error });
      }
      throw error;
    }
    sources.push(path);
    for (const entry of entries) {
      const section = normalizeSection(entry.section);
      const spelling = BY_EXACT_NAME.get(`${section}\0${entry.key}`);
      if (spelling === undefined) {
        extras.push({
          label: `${section}.${entry.key}`,
          section: section.toLowerCase(),
          name: entry.key,
          foldName: false,
          value: entry.value,
          origin: `${path}:${entry.line}`,
        });
        continue;
      }
      assignments.push({ section, name: entry.key, value: entry.value, origin: `${path}:${entry.line}` });
    }
  };

  const etcFile = join(cwd, 'etc', 'iris-api.conf');
  if (exists(etcFile)) readConfigFile(etcFile, null);
  for (const { path, via } of configFilesFromArgv(argv, cwd)) readConfigFile(path, via);
  const fromEnv = env.IRIS_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') readConfigFile(resolve(cwd, fromEnv), 'IRIS_CONFIG');
  assignments.push(...environmentAssignments(env, extras));

  const deprecations: string[] = [];
  const origins = new Map<ConfigOption, string>();
  const usedSpellings = assignments.map((a) => BY_EXACT_NAME.get(`${a.section}\0${a.name}`));
  const resolveOption = (option: ConfigOption, ctx: OptionContext): unknown => {
    const current = lastIndex(usedSpellings, (s) => s?.option === option && !s.deprecated);
    const old = lastIndex(usedSpellings, (s) => s?.option === option && s.deprecated);
    for (const [i, { section, name, origin }] of assignments.entries()) {
      const spelling = usedSpellings[i];
      if (spelling?.option !== option || !spelling.deprecated) continue;
      deprecations.push(
        current >= 0
          ? `[${section}] ${name} (${origin}) is deprecated and ignored because [${option.section}] ${option.name} is set`
          : `[${section}] ${name} (${origin}) is deprecated; use [${option.section}] ${option.name} instead`,
      );
    }
    const chosen = current >= 0 ? assignments[current] : old >= 0 ? assignments[old] : undefined;
    if (chosen === undefined) {
      const raw = typeof option.default === 'function' ? option.default(ctx) : option.default;
      return parseOptionValue(option, raw, ctx);
    }
    origins.set(option, chosen.origin);
    try {
      return parseOptionValue(option, chosen.value, ctx);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`Invalid value for [${chosen.section}] ${chosen.name} (${chosen.origin}): ${reason}`, {
        cause: error,
      });
    }
  };

  if (DATA_DIR === undefined) throw new Error('CONFIG_OPTIONS lacks [iris] data_dir');
  const dataDir = resolveOption(DATA_DIR, { cwd, dataDir: '' }) as string;
  const ctx: OptionContext = { cwd, dataDir };

  const values = optionValues((option) => (option === DATA_DIR ? dataDir : resolveOption(option, ctx)));
  // Glance listens on 0.0.0.0; Iris does too once callers must authenticate. The trusting
  // flavors stay on loopback unless bind_host says otherwise.
  const bindHost = CONFIG_OPTIONS.find((o) => o.section === 'DEFAULT' && o.name === 'bind_host');
  const flavor = values.paste_deploy.flavor;
  const authenticating = bindHost !== undefined && !origins.has(bindHost) && (flavor === 'keystone' || flavor === 'apikey');
  // Derived, not an option: connection was validated by its option's own check.
  const target = parseDatabaseUrl(values.database.connection, cwd);

  const consumed = new Set<Extra>();
  const stores = deriveStores(values, ctx, extras, consumed, (section, name) => {
    const option = CONFIG_OPTIONS.find((o) => o.section === section && o.name === name);
    const origin = option === undefined ? undefined : origins.get(option);
    return origin === undefined ? '' : ` (${origin})`;
  });

  const config: Config = {
    ...values,
    DEFAULT: authenticating ? { ...values.DEFAULT, bind_host: '0.0.0.0' } : values.DEFAULT,
    database: { ...values.database, sqlite_path: target.engine === 'sqlite' ? target.path : '' },
    ...stores,
    sources,
    unknown_options: [...new Set(extras.filter((extra) => !consumed.has(extra)).map((extra) => extra.label))],
    deprecations,
  };
  return deepFreeze(config);
}

/**
 * The derived store fields: the backends (reading each enabled store's own section from
 * `extras`, marking what it uses as `consumed`), the default backend and the staging
 * directory, after checking that no two of them share a directory. `originOf` gives
 * " (file:line)" for a table option that was set, or ''.
 */
function deriveStores(
  values: ConfigOptionValues,
  ctx: OptionContext,
  extras: readonly Extra[],
  consumed: Set<Extra>,
  originOf: (section: string, name: string) => string,
): Pick<Config, 'backends' | 'multi_store' | 'default_backend_id' | 'staging_dir'> {
  const enabled = parseEnabledBackends(values.DEFAULT.enabled_backends, ownSections());
  const multiStore = enabled.length > 0;
  const tasksDir = values.os_glance_tasks_store.filesystem_store_datadir;
  let backends: BackendConfig[];
  let defaultBackendId: string;
  let stagingDir: string;
  let stagingName: string;

  if (multiStore) {
    backends = enabled.map((backend) => {
      const section = backend.id.toLowerCase();
      const storeValues: Record<string, unknown> = {};
      for (const option of BACKEND_OPTIONS) {
        // Only the options of this store's type are its own; a swift_store_* line in a file
        // store's section stays unknown (and is reported as such).
        if (!appliesTo(option.name, backend.type)) continue;
        const matches = extras.filter(
          (extra) =>
            extra.section === section &&
            (extra.foldName ? extra.name.toLowerCase() === option.name : extra.name === option.name),
        );
        for (const extra of matches) consumed.add(extra);
        const chosen = matches.at(-1);
        const storeCtx: OptionContext = { ...ctx, storeId: backend.id };
        if (chosen === undefined) {
          const raw = typeof option.default === 'function' ? option.default(storeCtx) : option.default;
          storeValues[option.name] = parseOptionValue(option, raw, storeCtx);
          continue;
        }
        try {
          storeValues[option.name] = parseOptionValue(option, chosen.value, storeCtx);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new ConfigError(
            `Invalid value for [${section}] ${option.name} (${chosen.origin}): ${reason}`,
            { cause: error },
          );
        }
      }
      return backendOf(backend.id, backend.type, storeValues, section, false);
    });
    const wanted = values.glance_store.default_backend;
    const ids = enabled.map((backend) => backend.id).join(', ');
    if (wanted === '') {
      throw new ConfigError(
        `[glance_store] default_backend must be set when [DEFAULT] enabled_backends is (Glance does not start ` +
          `without it): name one of ${ids}`,
      );
    }
    if (!enabled.some((backend) => backend.id === wanted)) {
      throw new ConfigError(
        `Invalid value for [glance_store] default_backend${originOf('glance_store', 'default_backend')}: ` +
          `${JSON.stringify(wanted)} is not one of enabled_backends (${ids})`,
      );
    }
    defaultBackendId = wanted;
    stagingDir = values.os_glance_staging_store.filesystem_store_datadir;
    stagingName = '[os_glance_staging_store] filesystem_store_datadir';
  } else {
    // Glance's single store: every type of `stores` is available (for reading the locations of
    // its scheme), each configured by [glance_store]; default_store takes the uploads.
    const glanceStore = values.glance_store;
    const types = glanceStore.stores;
    const defaultStore = glanceStore.default_store;
    if (!types.includes(defaultStore)) {
      throw new ConfigError(
        `Invalid value for [glance_store] default_store${originOf('glance_store', 'default_store')}: ` +
          `"${defaultStore}" is not one of [glance_store] stores (${types.join(', ')})`,
      );
    }
    // A copy as a plain record: backendOf reads the group's fields by name.
    backends = types.map((type) => backendOf(type, type, { ...glanceStore }, 'glance_store', true));
    defaultBackendId = defaultStore;
    stagingDir = stagingPathFromUri(values.DEFAULT.node_staging_uri);
    stagingName = '[DEFAULT] node_staging_uri';
  }

  const claimed = new Map<string, string>();
  const claim = (dir: string, name: string): void => {
    const other = claimed.get(dir);
    if (other !== undefined) {
      throw new ConfigError(`${other} and ${name} are both ${dir}: each store needs a directory of its own`);
    }
    claimed.set(dir, name);
  };
  for (const backend of backends) {
    if (backend.type !== 'file') continue;
    claim(
      backend.filesystem_store_datadir,
      backend.legacy ? '[glance_store] filesystem_store_datadir' : `[${backend.id.toLowerCase()}] filesystem_store_datadir`,
    );
  }
  claim(stagingDir, stagingName);
  claim(tasksDir, '[os_glance_tasks_store] filesystem_store_datadir');

  return { backends, multi_store: multiStore, default_backend_id: defaultBackendId, staging_dir: stagingDir };
}

/** Whether a per-store option is read for a store of `type`: the common ones and its type's group. */
function appliesTo(name: string, type: IrisStoreType): boolean {
  if (name === 'store_description') return true;
  if (name === 'filesystem_store_datadir') return type === 'file';
  return isStoreTypeOption(name, type);
}

/**
 * A backend of `type` from its parsed options (`values`: a store section, or [glance_store]),
 * after the checks across options of its group. Throws ConfigError naming `section`.
 */
function backendOf(
  id: string,
  type: IrisStoreType,
  values: Readonly<Record<string, unknown>>,
  section: string,
  legacy: boolean,
): BackendConfig {
  const common = { id, store_description: legacy ? null : (values.store_description as string | null), legacy };
  if (type === 'file') {
    return { ...common, type, filesystem_store_datadir: values.filesystem_store_datadir as string };
  }
  const problem = storeTypeProblem(type, values, section);
  if (problem !== null) throw new ConfigError(problem);
  const options = Object.fromEntries(storeTypeOptionNames(type).map((name) => [name, values[name]]));
  // storeTypeProblem has checked what the types below promise (the required options are set).
  return { ...common, type, options } as unknown as BackendConfig;
}

/** Non-DEFAULT section names are case-insensitive in oslo.config (it lowercases them). */
function normalizeSection(section: string): string {
  return section === 'DEFAULT' ? section : section.toLowerCase();
}

/**
 * The files named by `--config-file PATH` / `--config-file=PATH` and `--config-dir DIR` /
 * `--config-dir=DIR`, in command-line order; a directory stands for its `*.conf` files sorted
 * by name, as oslo.config reads them. Scanning stops at `--`. Paths are resolved against `cwd`.
 */
function configFilesFromArgv(argv: readonly string[], cwd: string): { path: string; via: string }[] {
  const files: { path: string; via: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!; // i < argv.length
    if (arg === '--') break;
    const flag = ['--config-file', '--config-dir'].find((f) => arg === f || arg.startsWith(`${f}=`));
    if (flag === undefined) continue;
    const value = arg === flag ? argv[++i] : arg.slice(flag.length + 1);
    if (value === undefined || value === '') throw new ConfigError(`${flag} needs a path`);
    const path = resolve(cwd, value);
    if (flag === '--config-file') {
      files.push({ path, via: flag });
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`Cannot read configuration directory ${path} (from --config-dir): ${reason}`, { cause: error });
    }
    for (const name of names.filter((n) => n.endsWith('.conf')).sort()) {
      files.push({ path: join(path, name), via: `--config-dir ${path}` });
    }
  }
  return files;
}

/**
 * The environment's assignments in precedence order: short aliases first, then the
 * IRIS__SECTION__OPTION variables (sorted, for a deterministic result). Unknown
 * IRIS__… variables are added to `unknown`.
 */
function environmentAssignments(env: NodeJS.ProcessEnv, extras: Extra[]): Assignment[] {
  const aliases: Assignment[] = [];
  for (const option of CONFIG_OPTIONS) {
    if (option.envAlias === undefined) continue;
    const value = env[option.envAlias];
    if (value === undefined || value === '') continue;
    aliases.push({
      section: option.section,
      name: option.name,
      value: value.trim(),
      origin: `environment variable ${option.envAlias}`,
    });
  }
  const generic: Assignment[] = [];
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    if (!variable.startsWith('IRIS__') || value === undefined) continue;
    const rest = variable.slice('IRIS__'.length);
    const split = rest.indexOf('__');
    const section = split > 0 ? rest.slice(0, split) : '';
    const name = split > 0 ? rest.slice(split + 2) : '';
    const spelling = BY_FOLDED_NAME.get(`${section.toLowerCase()}\0${name.toLowerCase()}`);
    if (spelling === undefined) {
      const folded = section.toUpperCase() === 'DEFAULT' ? 'DEFAULT' : section.toLowerCase();
      const malformed = section === '' || name === '';
      extras.push({
        label: malformed ? variable : `${folded}.${name.toLowerCase()}`,
        section: malformed ? '' : section.toLowerCase(),
        name,
        foldName: true,
        value: value.trim(),
        origin: `environment variable ${variable}`,
      });
      continue;
    }
    generic.push({ section: spelling.section, name: spelling.name, value: value.trim(), origin: `environment variable ${variable}` });
  }
  return [...aliases, ...generic];
}

function readText(path: string, via: string | null): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const from = via === null ? '' : ` (from ${via})`;
    if (code === 'ENOENT') throw new ConfigError(`Configuration file ${path}${from} does not exist`, { cause: error });
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`Cannot read configuration file ${path}${from}: ${reason}`, { cause: error });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function lastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
