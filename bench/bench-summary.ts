/**
 * Reads the `summary.md` that `peer-glance/bench.sh` writes, so that runs against different
 * servers can be put side by side. Only the table rows are read; everything else in the file is
 * for people.
 */
import { readFileSync } from 'node:fs';

/** One wrk cell: medians over the runs of that cell. */
export interface WrkCell {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface BenchSummary {
  /** Raw machine limits by row label (the label cell as bench.sh prints it), MiB/s. */
  readonly raw: ReadonlyMap<string, number>;
  readonly uploadMiBps?: number;
  readonly downloadMiBps?: number;
  /** wrk cells keyed `"<request> c<conns>"`, e.g. `"GET /v2/images?limit=20 c16"`. */
  readonly wrk: ReadonlyMap<string, WrkCell>;
  /** Images present during the wrk runs, as bench.sh counted them. */
  readonly images?: number;
}

/** The request labels bench.sh uses, by short name. */
export const REQUESTS = {
  list: 'GET /v2/images?limit=20',
  show: 'GET /v2/images/{id}',
  create: 'POST /v2/images',
} as const;

/** Raw-limit row labels bench.sh uses, by short name (prefixes of the label cell). */
export const RAW = {
  ddFsync: '`dd if=FILE of=TMPFILE bs=1M conv=fsync`',
  sendfile: '`curl -o /dev/null` loopback download',
  curlUpload: '`curl -T FILE` loopback upload',
  hashOnePass: 'md5 + sha512 in one pass',
  sha512: '`openssl dgst -sha512 FILE`',
} as const;

function cells(line: string): string[] {
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

/**
 * Parses one bench.sh summary.md. Cells bench.sh could not measure ("?") come out as NaN.
 * @throws Error when the file cannot be read.
 */
export function readBenchSummary(path: string): BenchSummary {
  const raw = new Map<string, number>();
  const wrk = new Map<string, WrkCell>();
  let uploadMiBps: number | undefined;
  let downloadMiBps: number | undefined;
  let images: number | undefined;
  let section = '';
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.startsWith('## ')) {
      section = line;
      const present = /, (\d+) images present/.exec(line);
      if (present) images = Number(present[1]);
      continue;
    }
    if (!line.startsWith('|') || line.startsWith('|---')) continue;
    const row = cells(line);
    if (section.startsWith('## Raw limits') && row.length >= 2 && row[0] !== 'measurement') {
      raw.set(row[0]!, Number(row[1]));
    } else if (section.startsWith('## Image data')) {
      const name = row[0];
      if (name === undefined) throw new Error(`${path}: empty table row in ${section}`);
      if (name.startsWith('upload ')) uploadMiBps = Number(row[1]);
      if (name.startsWith('download ')) downloadMiBps = Number(row[1]);
    } else if (section.startsWith('## Metadata') && row.length >= 11 && row[0] !== 'request') {
      wrk.set(`${row[0]} c${row[1]}`, {
        rps: Number(row[2]),
        p50: Number(row[4]),
        p99: Number(row[6]),
        non2xx: Number(row[9]),
        errors: Number(row[10]),
      });
    }
  }
  return { raw, uploadMiBps, downloadMiBps, wrk, images };
}

/** The raw limit whose label starts with `prefix`, or undefined. */
export function rawLimit(summary: BenchSummary, prefix: string): number | undefined {
  for (const [label, value] of summary.raw) if (label.startsWith(prefix)) return value;
  return undefined;
}
