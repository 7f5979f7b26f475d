/**
 * A small parser for oslo.config-style INI files (glance-api.conf and friends).
 *
 * Rules, following oslo.config's own parser:
 * - `[name]` starts a section; the name is kept as written (trimmed).
 * - `key = value` or `key: value`; whichever separator comes first splits the line.
 *   Keys are case-sensitive; values are trimmed, and one pair of matching surrounding
 *   quotes (`"…"` or `'…'`) is removed.
 * - Lines starting with `#` or `;` are comments; blank lines are skipped.
 * - A line starting with whitespace continues the previous value (joined with `\n`);
 *   a blank line, comment or new section ends the value.
 * - A repeated key in a section: the last one wins.
 * Anything else (no separator, empty key, key before any section, stray indented line,
 * unterminated section header) is an {@link IniSyntaxError} naming the file and line.
 */

/** A malformed line; `file` and `line` say where, for the operator. */
export class IniSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'IniSyntaxError';
  }
}

/** One `key = value` assignment with where it came from. */
export interface IniEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  /** 1-based line number of the `key = value` line (not of its continuations). */
  readonly line: number;
}

interface PendingEntry {
  readonly section: string;
  readonly key: string;
  readonly parts: string[];
  readonly line: number;
}

/**
 * Parses INI text into assignments in file order, keeping line numbers so that later
 * validation errors can point at the offending line.
 */
export function parseIniEntries(text: string, file: string): IniEntry[] {
  const entries: IniEntry[] = [];
  scan(text, file, () => {}, (entry) => entries.push(entry));
  return entries;
}

/**
 * Parses INI text into `section -> key -> value` (last assignment wins; a section with
 * no options is present and empty), the shape most callers want.
 */
export function parseIni(text: string, file: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  const sectionMap = (name: string): Map<string, string> => {
    let options = sections.get(name);
    if (options === undefined) {
      options = new Map();
      sections.set(name, options);
    }
    return options;
  };
  scan(text, file, sectionMap, (entry) => sectionMap(entry.section).set(entry.key, entry.value));
  return sections;
}

function scan(
  text: string,
  file: string,
  onSection: (name: string) => void,
  onEntry: (entry: IniEntry) => void,
): void {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let section: string | null = null;
  let pending: PendingEntry | null = null;

  const flush = (): void => {
    if (pending === null) return;
    onEntry({
      section: pending.section,
      key: pending.key,
      value: unquote(pending.parts.join('\n')),
      line: pending.line,
    });
    pending = null;
  };

  for (const [index, rawLine] of lines.entries()) {
    const lineNo = index + 1;
    const line = rawLine.trimEnd();
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (pending !== null) {
        pending.parts.push(line.trimStart());
        continue;
      }
      const trimmed = line.trimStart();
      if (trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
      throw new IniSyntaxError(file, lineNo, 'unexpected indented line (continuation without a preceding option)');
    }
    flush();
    if (line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) {
        throw new IniSyntaxError(file, lineNo, `section header ${JSON.stringify(line)} lacks a closing "]"`);
      }
      const name = line.slice(1, -1).trim();
      if (name === '') throw new IniSyntaxError(file, lineNo, 'empty section name');
      section = name;
      onSection(name);
      continue;
    }
    const equal = line.indexOf('=');
    const colon = line.indexOf(':');
    if (equal < 0 && colon < 0) {
      throw new IniSyntaxError(
        file,
        lineNo,
        `expected "key = value", a [section] or a comment, got ${JSON.stringify(line)}`,
      );
    }
    const split = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
    const key = line.slice(0, split).trim();
    if (key === '') throw new IniSyntaxError(file, lineNo, 'empty option name');
    if (section === null) {
      throw new IniSyntaxError(file, lineNo, `option "${key}" appears before any [section] header`);
    }
    pending = { section, key, parts: [line.slice(split + 1).trim()], line: lineNo };
  }
  flush();
}

function unquote(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
    return value.slice(1, -1);
  }
  return value;
}
