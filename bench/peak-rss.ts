/**
 * Memory under concurrent uploads: several curl clients each PUT the same file into its own
 * image at once while the resident memory of the server's whole process tree (primary, cluster
 * workers; threads are inside their process) is sampled.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
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
  /** Uploads that did not end with 204 and an active image. */
  readonly failures: number;
  /** `<curl http code>/<image status>` of each upload, e.g. `204/active`. */
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

/** Runs curl, resolving with its `-w` output. */
async function curl(args: readonly string[]): Promise<string> {
  const child = spawn('curl', ['-sS', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  // 'close', not 'exit': only then has all of curl's output been read.
  await once(child, 'close');
  return out;
}

/**
 * Uploads `file` (`bytes` long) `clients` times concurrently to `server` and reports the peak
 * summed RSS of its process tree.
 *
 * @example const r = await measurePeakRss(iris, '/tmp/big.bin', 1 << 30, 10);
 */
export async function measurePeakRss(server: Server, file: string, bytes: number, clients: number): Promise<PeakRssResult> {
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
  let codes: string[];
  try {
    codes = await Promise.all(
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
  for (const [i, id] of ids.entries()) {
    const image = await json(`${server.url}/v2/images/${id}`);
    outcomes.push(`${codes[i].trim() || '(no code)'}/${String(image.status)}`);
    await fetch(`${server.url}/v2/images/${id}`, { method: 'DELETE' });
  }
  const mib = 1024 * 1024;
  return {
    clients,
    idleMiB: idle / mib,
    peakMiB: peak / mib,
    aggregateMiBps: (bytes * clients) / mib / seconds,
    seconds,
    failures: outcomes.filter((o) => o !== '204/active').length,
    outcomes,
  };
}
