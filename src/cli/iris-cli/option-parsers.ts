/** Parsers for commander options, with glanceclient's value rules. */
import { InvalidArgumentError } from 'commander';
import { CliError } from './cli-io.js';

/** For repeatable options (`--property a=b --property c=d`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable option limited to `choices` (commander's own choices check does not collect). */
export function collectChoice(choices: readonly string[]): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    if (!choices.includes(value)) {
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    }
    return collect(value, previous);
  };
}

/** A non-negative integer (`--min-disk`, `--size`, `--limit`). */
export function integer(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`invalid int value: '${value}'`);
  return Number(value.trim());
}

/** A positive integer (`--page-size`). */
export function positiveInteger(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError(`must be at least 1: '${value}'`);
  return n;
}

/**
 * oslo's `bool_from_string` as glanceclient uses it (not strict): `1`, `t`, `true`, `on`, `y`,
 * `yes` in any case are true, every other word is false.
 */
export function pyBool(value: string): boolean {
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(value.trim().toLowerCase());
}

/** `KEY=VALUE` pairs, split at the first `=`. */
export function keyValues(pairs: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`Argument ${flag} expected KEY=VALUE, got '${pair}'`, 2);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}
