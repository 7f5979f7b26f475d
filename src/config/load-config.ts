/**
 * Loads the Config from defaults, INI files and the environment, driven by CONFIG_OPTIONS.
 *
 * Precedence, lowest to highest:
 *   built-in defaults
 *   < etc/iris-api.conf (relative to cwd), when present
 *   < each --config-file PATH / --config-file=PATH, in order (later wins)
 *   < the file named by IRIS_CONFIG
 *   < short environment aliases (IRIS_HOST, IRIS_PORT, IRIS_DATA_DIR)
 *   < IRIS__SECTION__OPTION environment variables.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config.js';
import { ConfigError } from './config-error.js';
import {
  CONFIG_OPTIONS,
  envNameOf,
  isTopLevel,
  parseOptionValue,
  type ConfigOption,
  type OptionContext,
} from './config-options.js';
import { IniSyntaxError, parseIniEntries } from './ini.js';
import { sqlitePathFromUrl } from './sqlite-url.js';

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
  const unknown = new Set<string>();
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
        unknown.add(`${section}.${entry.key}`);
        continue;
      }
      assignments.push({ section, name: entry.key, value: entry.value, origin: `${path}:${entry.line}` });
    }
  };

  const etcFile = join(cwd, 'etc', 'iris-api.conf');
  if (exists(etcFile)) readConfigFile(etcFile, null);
  for (const path of configFilesFromArgv(argv)) readConfigFile(resolve(cwd, path), '--config-file');
  const fromEnv = env.IRIS_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') readConfigFile(resolve(cwd, fromEnv), 'IRIS_CONFIG');
  assignments.push(...environmentAssignments(env, unknown));

  const deprecations: string[] = [];
  const usedSpellings = assignments.map((a) => BY_EXACT_NAME.get(`${a.section}\0${a.name}`));
  const resolveOption = (option: ConfigOption, ctx: OptionContext): unknown => {
    const current = lastIndex(usedSpellings, (s) => s?.option === option && !s.deprecated);
    const old = lastIndex(usedSpellings, (s) => s?.option === option && s.deprecated);
    for (let i = 0; i < assignments.length; i++) {
      const spelling = usedSpellings[i];
      if (spelling?.option !== option || !spelling.deprecated) continue;
      const { section, name, origin } = assignments[i];
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

  const sections: Record<string, Record<string, unknown>> = {};
  const top: Record<string, unknown> = {};
  for (const option of CONFIG_OPTIONS) {
    const value = option === DATA_DIR ? dataDir : resolveOption(option, ctx);
    if (option.ignored === true) continue;
    const target = isTopLevel(option) ? top : (sections[option.section] ??= {});
    target[option.name] = value;
  }
  // Derived, not an option: connection was validated by its option's own check.
  sections.database.sqlite_path = sqlitePathFromUrl(sections.database.connection as string, cwd);

  const config = {
    ...sections,
    ...top,
    sources,
    unknown_options: [...unknown],
    deprecations,
  };
  return deepFreeze(config) as unknown as Config;
}

/** Non-DEFAULT section names are case-insensitive in oslo.config (it lowercases them). */
function normalizeSection(section: string): string {
  return section === 'DEFAULT' ? section : section.toLowerCase();
}

/** `--config-file PATH` and `--config-file=PATH`, in order; scanning stops at `--`. */
function configFilesFromArgv(argv: readonly string[]): string[] {
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    let path: string | undefined;
    if (arg === '--config-file') {
      path = argv[++i];
    } else if (arg.startsWith('--config-file=')) {
      path = arg.slice('--config-file='.length);
    } else {
      continue;
    }
    if (path === undefined || path === '') throw new ConfigError('--config-file needs a path');
    files.push(path);
  }
  return files;
}

/**
 * The environment's assignments in precedence order: short aliases first, then the
 * IRIS__SECTION__OPTION variables (sorted, for a deterministic result). Unknown
 * IRIS__… variables are added to `unknown`.
 */
function environmentAssignments(env: NodeJS.ProcessEnv, unknown: Set<string>): Assignment[] {
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
      unknown.add(section === '' || name === '' ? variable : `${folded}.${name.toLowerCase()}`);
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
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i])) return i;
  return -1;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
