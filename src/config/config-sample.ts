/**
 * Renders the option table as the commented sample file (etc/iris-api.conf.sample) and as
 * the Markdown table in docs/configuration.md, so neither can drift from what the loader
 * actually reads. Used by scripts/gen-config-sample.ts.
 */
import {
  BACKEND_OPTIONS,
  BACKEND_SECTION_PLACEHOLDER,
  CONFIG_OPTIONS,
  describeType,
  envNameOf,
  type ConfigOption,
} from './config-options.js';

const WIDTH = 78;

/** What the sample and the docs say about the per-store sections ({@link BACKEND_OPTIONS}). */
/** What the sample and the docs say about the per-store sections, in Markdown (the sample drops the backticks). */
const BACKEND_SECTIONS_TEXT: readonly string[] = [
  '**Per-store sections.** When `[DEFAULT] enabled_backends` is set, for example to `local:file,fast:file`, ' +
    'each store reads the options above marked `[<backend id>]` from the section named after its id: ' +
    '`[local]` and `[fast]` (section names other than `DEFAULT` are case-insensitive), or from ' +
    '`IRIS__<ID>__<OPTION>` environment variables such as `IRIS__FAST__FILESYSTEM_STORE_DATADIR`. Only the ' +
    'sections of enabled ids are read: other options in them, and sections of ids that are not enabled, are ' +
    'reported as unknown, and so are the options of another store type. `[glance_store] default_backend` ' +
    'must name one of the ids. Without `enabled_backends` there is one store per type of `[glance_store] ' +
    'stores` (default: one, `file`), each with its type as id, configured by `[glance_store]`, and ' +
    'glance-direct staging goes to `[DEFAULT] node_staging_uri` instead of `[os_glance_staging_store]`. ' +
    'The store types and their options: docs/stores.md.',
];

/** The text shown as an option's default, as an operator would write it in a file. */
export function defaultTextOf(option: ConfigOption): string {
  if (option.defaultText !== undefined) return option.defaultText;
  return typeof option.default === 'string' ? option.default : '<computed>';
}

/** The sample configuration file: every supported option, commented out with its default. */
export function renderConfigSample(
  options: readonly ConfigOption[] = CONFIG_OPTIONS,
  backendOptions: readonly ConfigOption[] = BACKEND_OPTIONS,
): string {
  const out: string[] = [
    '# Iris API configuration sample.',
    '#',
    '# Generated from src/config/config-options.ts by',
    '#   node --import tsx scripts/gen-config-sample.ts > etc/iris-api.conf.sample',
    '# Do not edit by hand.',
    '#',
    '# Copy to etc/iris-api.conf (read automatically when present) or pass it with',
    '# --config-file PATH. Option names follow Glance\'s glance-api.conf. Every option',
    '# below is commented out and shows its default; see docs/configuration.md for the',
    '# precedence of files and environment variables.',
  ];
  for (const [section, members] of groupBySection(options.filter((o) => o.ignored !== true))) {
    out.push('', `[${section}]`);
    for (const option of members) {
      out.push('', ...wrap(option.help, WIDTH - 2).map((line) => `# ${line}`), '#');
      out.push(`# Type: ${describeType(option)}`);
      const env = option.envAlias === undefined ? envNameOf(option) : `${option.envAlias} or ${envNameOf(option)}`;
      out.push(`# Environment: ${env}`);
      for (const old of option.deprecatedNames ?? []) out.push(`# Deprecated spelling: [${old.section}] ${old.name}`);
      out.push(`#${option.name} = ${defaultTextOf(option)}`);
    }
  }
  // Commented out like the options: the section's real name is a store id.
  out.push('', `#[${BACKEND_SECTION_PLACEHOLDER}]`, '#');
  for (const paragraph of BACKEND_SECTIONS_TEXT) {
    const plain = paragraph.replaceAll('`', '').replaceAll('**', '').replace('options above marked [<backend id>]', 'options below');
    out.push(...wrap(plain, WIDTH - 2).map((line) => `# ${line}`));
  }
  for (const option of backendOptions) {
    out.push('', ...wrap(option.help, WIDTH - 2).map((line) => `# ${line}`), '#');
    out.push(`# Type: ${describeType(option)}`);
    out.push(`# Environment: ${backendEnvName(option)}`);
    out.push(`#${option.name} = ${defaultTextOf(option)}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * The Markdown options table (section, option, default, meaning) for the docs, ending with
 * the per-store section's options, followed by the paragraph that explains those.
 */
export function renderOptionsTable(
  options: readonly ConfigOption[] = CONFIG_OPTIONS,
  backendOptions: readonly ConfigOption[] = BACKEND_OPTIONS,
): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const rows = [...options.filter((o) => o.ignored !== true), ...backendOptions].map((o) => {
    const dflt = defaultTextOf(o);
    return `| \`[${o.section}]\` | \`${o.name}\` | ${dflt === '' ? '(empty)' : `\`${cell(dflt)}\``} | ${cell(o.help)} |`;
  });
  const table = ['| Section | Option | Default | Meaning |', '| --- | --- | --- | --- |', ...rows];
  const notes = BACKEND_SECTIONS_TEXT.map((paragraph) => wrap(paragraph, 96).join('\n'));
  return [table.join('\n'), ...notes].join('\n\n') + '\n';
}

/** IRIS__<ID>__OPTION: the per-store sections' variables. */
function backendEnvName(option: ConfigOption): string {
  return `IRIS__<ID>__${option.name.toUpperCase()}`;
}

function groupBySection(options: readonly ConfigOption[]): Map<string, ConfigOption[]> {
  const groups = new Map<string, ConfigOption[]>();
  for (const option of options) {
    const members = groups.get(option.section) ?? [];
    members.push(option);
    groups.set(option.section, members);
  }
  return groups;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
