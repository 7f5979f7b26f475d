/**
 * Finds a test server's admin listener (its "metrics listening" log line) and scrapes it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IrisProcess } from './iris-server.js';
import { parsePrometheusText, type Exposition } from './prometheus-text.js';

/** The /metrics URL the server logged; waits for the line (logged just after the API's). */
export async function metricsUrlOf(iris: Pick<IrisProcess, 'logs'>, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /metrics listening on (\S+?):(\d+)/.exec(iris.logs());
    if (m !== null) return `http://${m[1]}:${m[2]}/metrics`;
    if (Date.now() > deadline) throw new Error(`no "metrics listening" line within ${timeoutMs} ms:\n${iris.logs().slice(-3000)}`);
    await sleep(50);
  }
}

/** GET /metrics, parsed (throws on a non-200 answer or a malformed exposition). */
export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error(`GET ${url}: content-type ${res.headers.get('content-type')}`);
  return parsePrometheusText(text);
}
