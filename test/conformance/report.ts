/**
 * The harness's readable report: unexpected differences grouped by case (request, then each
 * field with the peer's and Iris's value), the intended ones in one line each, stale entries of
 * docs/conformance.md as a warning, and the summary line.
 */
import type { Difference } from './compare.js';
import type { Classified } from './known-differences.js';

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\n/g, '\\n');
}

export function formatReport(compared: number, result: Classified): string {
  const out: string[] = [];
  if (result.unexpected.length > 0) {
    out.push(`UNEXPECTED DIFFERENCES (${result.unexpected.length}) — not listed in docs/conformance.md:`, '');
    const byCase = new Map<string, Difference[]>();
    for (const d of result.unexpected) byCase.set(d.case, [...(byCase.get(d.case) ?? []), d]);
    for (const [name, diffs] of byCase) {
      out.push(`  case: ${name}`, indent(diffs[0]!.request, '    > '));
      for (const d of diffs) {
        out.push(`    field: ${d.field}`, `      peer: ${oneLine(d.peer)}`, `      iris: ${oneLine(d.iris)}`);
      }
      out.push('');
    }
  }
  if (result.intended.length > 0) {
    out.push(`Intended differences (${result.intended.length}), by entry of docs/conformance.md:`);
    const byEntry = new Map<number, { why: string; lines: string[] }>();
    for (const { difference: d, entry } of result.intended) {
      const group = byEntry.get(entry.line) ?? { why: entry.why, lines: [] };
      group.lines.push(`    ${d.case} | ${d.field}: peer ${oneLine(d.peer)} | iris ${oneLine(d.iris)}`);
      byEntry.set(entry.line, group);
    }
    for (const [line, group] of byEntry) out.push(`  line ${line}: ${group.why}`, ...group.lines);
    out.push('');
  }
  if (result.stale.length > 0) {
    out.push(`WARNING: ${result.stale.length} entries of docs/conformance.md matched nothing in this run (stale?):`);
    for (const e of result.stale) out.push(`  line ${e.line}: ${e.case} | ${e.field}`);
    out.push('');
  }
  out.push(`${compared} requests compared, ${result.intended.length} intended differences, ${result.unexpected.length} unexpected`);
  return out.join('\n');
}
