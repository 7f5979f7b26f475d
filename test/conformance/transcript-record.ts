/**
 * Runs ../shared/peer-glance/transcript.py (in place) against a server and reads the Markdown
 * record that ../shared/peer-glance/transcript.py writes (one
 * `### N. METHOD path` section per call, a ```http request block, a ```http response block and,
 * for text bodies, an "Exact body (JSON-escaped)" line) into Exchanges. transcript.py has
 * already normalised ids (<ID-n>), times, request ids, the base URL and tag order.
 *
 * @example
 *   const calls = parseTranscript(readFileSync('peer.md', 'utf8'));
 *   calls[0].case; // 'T1 GET /'
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Body, Exchange } from './exchange.js';
import { PEER_DIR } from './peer-glance.js';

/** Debian's python3: transcript.py needs only its standard library. */
const PYTHON = '/usr/bin/python3';

const TITLE = /^### (\d+)\. (\S+) (.*)$/;
const BINARY = /^<(\d+) bytes, md5 ([0-9a-f]{32})>$/;
const EXACT = /^Exact body \(JSON-escaped\): `(.*)`$/;

/** The lines of the first ```http block at or after `from`, and the index after it. */
function fencedBlock(lines: readonly string[], from: number, end: number): { body: string[]; next: number } | null {
  let i = from;
  while (i < end && lines[i] !== '```http') i++;
  if (i >= end) return null;
  const start = i + 1;
  let j = start;
  while (j < end && lines[j] !== '```') j++;
  return { body: lines.slice(start, j), next: j + 1 };
}

function splitHead(block: readonly string[]): { head: string[]; rest: string[] | null } {
  const blank = block.indexOf('');
  return blank < 0 ? { head: [...block], rest: null } : { head: block.slice(0, blank), rest: block.slice(blank + 1) };
}

function bodyOf(rest: string[] | null, contentType: string, exact: string | undefined): Body {
  if (rest === null) return { kind: 'none' };
  const text = rest.join('\n');
  const bin = BINARY.exec(text);
  if (bin) return { kind: 'binary', size: Number(bin[1]), md5: bin[2]! };
  if (contentType.includes('json')) {
    try {
      return { kind: 'json', value: JSON.parse(text) };
    } catch {
      // not JSON after all: compared as text
    }
  }
  // The fenced copy loses trailing whitespace and blank lines; the escaped line is exact.
  return { kind: 'text', text: exact !== undefined ? (JSON.parse(exact) as string) : text };
}

export function parseTranscript(markdown: string): Exchange[] {
  const lines = markdown.split('\n');
  const starts: number[] = [];
  lines.forEach((line, i) => {
    if (TITLE.test(line)) starts.push(i);
  });
  const calls: Exchange[] = [];
  starts.forEach((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : lines.length;
    const [, n, method, path] = TITLE.exec(lines[start]!) ?? [];
    const req = fencedBlock(lines, start, end);
    const res = req && fencedBlock(lines, req.next, end);
    if (!req || !res) throw new Error(`transcript section "${lines[start]}" has no request/response blocks`);

    const reqHead = splitHead(req.body).head;
    const { head, rest } = splitHead(res.body);
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head[0] ?? '')?.[1] ?? NaN);
    if (Number.isNaN(status)) throw new Error(`transcript section "${lines[start]}": no status line`);
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const colon = line.indexOf(': ');
      if (colon < 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? line.slice(colon + 2) : `${prev}, ${line.slice(colon + 2)}`);
    }
    let exact: string | undefined;
    for (let i = res.next; i < end; i++) {
      const m = EXACT.exec(lines[i]!);
      if (m) exact = m[1];
    }
    calls.push({
      case: `T${n} ${method} ${path}`,
      request: reqHead.join('\n  '),
      status,
      headers,
      body: bodyOf(rest, headers.get('content-type') ?? '', exact),
    });
  });
  return calls;
}

/**
 * Replays transcript.py against `baseUrl`, writes its record to `outFile` and parses it.
 * `webDownloadUrl`: its optional successful web-download (TRANSCRIPT_WD_URL), from a server the
 * caller runs so that both servers fetch the same bytes.
 */
export async function recordTranscript(baseUrl: string, outFile: string, webDownloadUrl?: string): Promise<Exchange[]> {
  await new Promise<string>((resolve, reject) => {
    const child = spawn(PYTHON, [join(PEER_DIR, 'transcript.py'), baseUrl, outFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its raw mode is off (the record must be the normalised scenario), and so is its own
      // port-80 web-download server (two runs side by side cannot both bind it).
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TRANSCRIPT_'))),
        ...(webDownloadUrl === undefined ? {} : { TRANSCRIPT_WD_URL: webDownloadUrl }),
      },
    });
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(log) : reject(new Error(`transcript.py against ${baseUrl} exited ${code}:\n${log}`)),
    );
  });
  return parseTranscript(await readFile(outFile, 'utf8'));
}
