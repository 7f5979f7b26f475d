/**
 * A small parser of the Prometheus text exposition format (0.0.4), enough for tests: `# HELP`
 * and `# TYPE` lines, samples with quoted labels (\\, \", \n escapes), values including NaN and
 * +Inf. Any line it cannot read fails the parse, so a malformed exposition fails the test.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** Metric family name → its TYPE. */
  readonly types: ReadonlyMap<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string, line: string): number {
  // Prometheus reads these as Go's ParseFloat does, in any case (prom-client writes `Nan` for an
  // event-loop lag with no samples yet).
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad sample value in ${JSON.stringify(line)}`);
  return n;
}

function parseLabels(text: string, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let rest = text;
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith('}')) return [labels, rest.slice(1)];
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(rest)?.[0];
    if (name === undefined || rest[name.length] !== '=' || rest[name.length + 1] !== '"') throw new Error(`bad label in ${JSON.stringify(line)}`);
    rest = rest.slice(name.length + 2);
    let value = '';
    for (;;) {
      const c = rest[0];
      if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
      rest = rest.slice(1);
      if (c === '"') break;
      if (c === '\\') {
        const e = rest[0];
        rest = rest.slice(1);
        value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : (() => { throw new Error(`bad escape in ${JSON.stringify(line)}`); })();
      } else {
        value += c;
      }
    }
    labels[name] = value;
    rest = rest.trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1);
  }
}

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
      if (m === null) continue; // other comments are allowed
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`bad TYPE line ${JSON.stringify(line)}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest.slice(1), line);
    const [value = '', timestamp] = rest.trim().split(/\s+/);
    if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error(`bad timestamp in ${JSON.stringify(line)}`);
    samples.push({ name, labels, value: parseValue(value, line) });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when there is none. */
export function valueOf(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const matching = exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? 0;
}

/** The samples named `name` (any labels). */
export function samplesOf(exposition: Exposition, name: string): Sample[] {
  return exposition.samples.filter((s) => s.name === name);
}
