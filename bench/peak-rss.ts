/**
 * Memory under concurrent uploads: several curl clients each PUT the same file into its own
 * image at once while the resident memory of the server's whole process tree (primary, cluster
 * workers; threads are inside their process) is sampled.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { processTree, rssBytes } from './servers.js';
import type { Server } from './servers.js';

export interface PeakRssResult {
  readonly clients: number;
  /** Summed RSS of the tree before the uploads started, MiB. */
  readonly idleMiB: number;
  /** Highest summed RSS seen while they ran, MiB. */
  readonly peakMiB: number;
  /** Bytes uploaded by all clients / wall time, MiB/s. */
  readonly aggregateMiBps: number;
  readonly seconds: number;
  /** Uploads that did not end with 204 and an active image holding the file's md5. */
  readonly failures: number;
  /**
   * `<curl http code>/<image status>` of each upload, e.g. `204/active`, followed by what went
   * wrong when something did: ` curl exit N: <curl's message>`, ` checksum <md5>`.
   */
  readonly outcomes: readonly string[];
}

const SAMPLE_MS = 100;

function treeRss(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssBytes(p), 0);
}

async function json(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

interface CurlResult {
  /** What `-w` printed (the HTTP code here). */
  readonly out: string;
  readonly exitCode: number | null;
  /** curl's own error message (`-sS` prints only errors). */
  readonly err: string;
}

/** Runs curl, resolving with its `-w` output, exit status and error message. */
async function curl(args: readonly string[]): Promise<CurlResult> {
  const child = spawn('curl', ['-sS', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  // 'close', not 'exit': 'exit' can come before curl's output has been read, which once turned
  // a 204 into an empty code and so into a "failed" upload (bench run 20261126T025912Z, where
  // the server had logged all ten uploads as 204).
  const [exitCode] = (await once(child, 'close')) as [number | null];
  return { out: out.trim(), exitCode, err: err.trim() };
}

async function md5Of(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Uploads `file` (`bytes` long) `clients` times concurrently to `server` and reports the peak
 * summed RSS of its process tree.
 *
 * @example const r = await measurePeakRss(iris, '/tmp/big.bin', 1 << 30, 10);
 */
export async function measurePeakRss(server: Server, file: string, bytes: number, clients: number): Promise<PeakRssResult> {
  const expectedMd5 = await md5Of(file);
  const ids: string[] = [];
  for (let i = 0; i < clients; i++) {
    const image = await json(`${server.url}/v2/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-rss-${i}`, disk_format: 'raw', container_format: 'bare' }),
    });
    ids.push(String(image.id));
  }
  const idle = treeRss(server.pid);
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, treeRss(server.pid));
  }, SAMPLE_MS);
  const started = performance.now();
  let results: CurlResult[];
  try {
    results = await Promise.all(
      ids.map((id) =>
        curl([
          '-o', '/dev/null', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:',
          '-T', file, '-w', '%{http_code}', `${server.url}/v2/images/${id}/file`,
        ]),
      ),
    );
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, treeRss(server.pid));
  const outcomes: string[] = [];
  let failures = 0;
  for (const [i, id] of ids.entries()) {
    const image = await json(`${server.url}/v2/images/${id}`);
    const { out, exitCode, err } = results[i]!; // one result per id (Promise.all over ids)
    let outcome = `${out || '(no code)'}/${String(image.status)}`;
    const ok = outcome === '204/active' && image.checksum === expectedMd5 && exitCode === 0;
    if (exitCode !== 0) outcome += ` curl exit ${exitCode}: ${err}`;
    if (image.status === 'active' && image.checksum !== expectedMd5) outcome += ` checksum ${String(image.checksum)}`;
    if (!ok) failures += 1;
    outcomes.push(outcome);
    await fetch(`${server.url}/v2/images/${id}`, { method: 'DELETE' });
  }
  const mib = 1024 * 1024;
  return {
    clients,
    idleMiB: idle / mib,
    peakMiB: peak / mib,
    aggregateMiBps: (bytes * clients) / mib / seconds,
    seconds,
    failures,
    outcomes,
  };
}
