/**
 * The intended differences between Iris and Glance: the ```conformance block of
 * docs/conformance.md, a list of entries in a small YAML subset (one `key: value` per line, an
 * entry starts with `- `):
 *
 *   - case: range/queued-image
 *     field: status
 *     glance: 500
 *     iris: 416
 *     why: a range of nothing cannot be satisfied
 *
 * `case` is the harness's case id (`T<n> METHOD path` for transcript.py calls, the case name for
 * the project's own ones); `field` as printed in the report. `case`, `field`, `glance` and
 * `iris` may use `*` for any run of characters; `glance`/`iris` may be left out (any value).
 */
import type { Difference } from './compare.js';

export interface KnownDifference {
  readonly case: string;
  readonly field: string;
  readonly glance?: string;
  readonly iris?: string;
  readonly why: string;
  /** 1-based line in the document, for messages. */
  readonly line: number;
}

const KEYS = new Set(['case', 'field', 'glance', 'iris', 'why']);

function glob(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

/** Entries of the first ```conformance block in `markdown`; throws on a malformed entry. */
export function parseKnownDifferences(markdown: string): KnownDifference[] {
  const lines = markdown.split('\n');
  const open = lines.findIndex((l) => l.trim() === '```conformance');
  if (open < 0) throw new Error('no ```conformance block');
  const entries: KnownDifference[] = [];
  let current: Record<string, string> | null = null;
  let startLine = 0;
  const finish = (): void => {
    if (current === null) return;
    for (const k of ['case', 'field', 'why']) {
      if (!current[k]) throw new Error(`conformance entry at line ${startLine} lacks "${k}"`);
    }
    entries.push({ ...(current as { case: string; field: string; why: string }), line: startLine });
    current = null;
  };
  for (let i = open + 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '```') {
      finish();
      return entries;
    }
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const m = /^(- |  )([a-z]+): (.*)$/.exec(raw);
    if (!m) throw new Error(`conformance block line ${i + 1} is not "- key: value" or "  key: value": ${raw}`);
    // All three groups always participate.
    const lead = m[1]!;
    const key = m[2]!;
    const value = m[3]!;
    if (!KEYS.has(key)) throw new Error(`conformance block line ${i + 1}: unknown key "${key}"`);
    if (lead === '- ') {
      finish();
      current = {};
      startLine = i + 1;
    } else if (current === null) {
      throw new Error(`conformance block line ${i + 1}: "${key}" outside an entry`);
    }
    current[key] = value.trim();
  }
  throw new Error('```conformance block is not closed');
}

export interface Classified {
  readonly intended: readonly { readonly difference: Difference; readonly entry: KnownDifference }[];
  readonly unexpected: readonly Difference[];
  /** Entries that matched nothing in this run. */
  readonly stale: readonly KnownDifference[];
}

export function classify(differences: readonly Difference[], entries: readonly KnownDifference[]): Classified {
  const compiled = entries.map((entry) => ({
    entry,
    test: (d: Difference): boolean =>
      glob(entry.case).test(d.case) &&
      glob(entry.field).test(d.field) &&
      (entry.glance === undefined || glob(entry.glance).test(d.peer)) &&
      (entry.iris === undefined || glob(entry.iris).test(d.iris)),
  }));
  const used = new Set<KnownDifference>();
  const intended: { difference: Difference; entry: KnownDifference }[] = [];
  const unexpected: Difference[] = [];
  for (const difference of differences) {
    const hit = compiled.find((c) => c.test(difference));
    if (hit) {
      used.add(hit.entry);
      intended.push({ difference, entry: hit.entry });
    } else {
      unexpected.push(difference);
    }
  }
  return { intended, unexpected, stale: entries.filter((e) => !used.has(e)) };
}
