/**
 * Renders the option table as the commented sample file (etc/iris-api.conf.sample) and as
 * the Markdown table in docs/configuration.md, so neither can drift from what the loader
 * actually reads. Used by scripts/gen-config-sample.ts.
 */
import { CONFIG_OPTIONS, describeType, envNameOf, type ConfigOption } from './config-options.js';

const WIDTH = 78;

/** The text shown as an option's default, as an operator would write it in a file. */
export function defaultTextOf(option: ConfigOption): string {
  if (option.defaultText !== undefined) return option.defaultText;
  return typeof option.default === 'string' ? option.default : '<computed>';
}

/** The sample configuration file: every supported option, commented out with its default. */
export function renderConfigSample(options: readonly ConfigOption[] = CONFIG_OPTIONS): string {
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
  return `${out.join('\n')}\n`;
}

/** The Markdown options table (section, option, default, meaning) for the docs. */
export function renderOptionsTable(options: readonly ConfigOption[] = CONFIG_OPTIONS): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const rows = options
    .filter((o) => o.ignored !== true)
    .map((o) => {
      const dflt = defaultTextOf(o);
      return `| \`[${o.section}]\` | \`${o.name}\` | ${dflt === '' ? '(empty)' : `\`${cell(dflt)}\``} | ${cell(o.help)} |`;
    });
  return ['| Section | Option | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
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
