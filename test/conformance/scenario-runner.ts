/**
 * Runs the project's own conformance cases (scenario.ts) against one server, in order, and
 * records each answer as a normalised Exchange. Requests go out over plain node:http on a
 * fresh connection each, with exactly the headers a step names (fetch would add Accept: *\/*,
 * which changes Glance's error format).
 *
 * @example
 *   const calls = await runScenario('http://127.0.0.1:9292', steps, { run: 'a1b2c3' });
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Body, Exchange } from './exchange.js';
import { createNormalizer, type Normalizer } from './normalize.js';

export interface Step {
  /** Stable, unique case id (docs/conformance.md entries name it). */
  readonly case: string;
  readonly method: string;
  /** Path and query; `{{name}}` is replaced by a variable (see `save`). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON (`{{name}}` filled in its strings); Content-Type only when `headers` say so. */
  readonly json?: unknown;
  /** Sent as is. */
  readonly raw?: string | Uint8Array;
  /** Sent with Transfer-Encoding: chunked, one chunk each (no Content-Length). */
  readonly chunks?: readonly Uint8Array[];
  /**
   * Variables to take from the JSON answer: name → key, or a dotted path through objects and
   * arrays (e.g. `{ img: 'id' }`, `{ task: 'tasks.0.id' }`).
   */
  readonly save?: Readonly<Record<string, string>>;
  /**
   * For asynchronous work (imports): repeat the request, unrecorded, until the JSON answer
   * satisfies this (or 60 s pass), then record the last answer. Only for safe requests.
   */
  readonly until?: (body: unknown) => boolean;
}

/** Stands in for an id a failed step did not return (as transcript.py does). */
const MISSING = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const TIMEOUT_MS = 30_000;
const RESERVED_STORES = /,os_glance_(?:staging|tasks)_store/g;
const POLL_MS = 250;
const POLL_LIMIT_MS = 60_000;

function fill(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => vars[name] ?? MISSING);
}

function fillJson(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return fill(value, vars);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, vars)]));
  }
  return value;
}

interface RawAnswer {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

function send(
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  chunks: readonly Uint8Array[] | undefined,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, method, path: base.pathname.replace(/\/$/, '') + path, headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const map = new Map<string, string>();
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i]!.toLowerCase();
            const prev = map.get(name);
            map.set(name, prev === undefined ? res.rawHeaders[i + 1]! : `${prev}, ${res.rawHeaders[i + 1]}`);
          }
          resolve({ status: res.statusCode ?? 0, headers: map, body: Buffer.concat(parts) });
        });
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    if (chunks !== undefined) {
      for (const c of chunks) req.write(c);
      req.end();
    } else {
      req.end(body);
    }
  });
}

function bodyOf(answer: RawAnswer, method: string, norm: Normalizer): Body {
  if (answer.body.length === 0 || method === 'HEAD') return { kind: 'none' };
  const type = answer.headers.get('content-type') ?? '';
  // The same split as transcript.py: octet-stream or non-UTF-8 is data, summarised.
  const binary = (): Body => ({
    kind: 'binary',
    size: answer.body.length,
    md5: createHash('md5').update(answer.body).digest('hex'),
  });
  if (type.includes('octet-stream')) return binary();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(answer.body);
  } catch {
    return binary();
  }
  if (type.includes('json')) {
    try {
      return { kind: 'json', value: norm.json(JSON.parse(text)) };
    } catch {
      // malformed JSON is compared as text
    }
  }
  return { kind: 'text', text: norm.text(text) };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function describeRequest(method: string, path: string, headers: Record<string, string>, body: string | undefined): string {
  const lines = [`${method} ${path}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(body.length > 200 ? `${body.slice(0, 197)}...` : body);
  return lines.join('\n  ');
}

export async function runScenario(
  baseUrl: string,
  steps: readonly Step[],
  initialVars: Readonly<Record<string, string>>,
): Promise<Exchange[]> {
  const seen = new Set<string>();
  for (const step of steps) {
    if (seen.has(step.case)) throw new Error(`duplicate conformance case id ${step.case}`);
    seen.add(step.case);
  }
  const base = new URL(baseUrl);
  const norm = createNormalizer(baseUrl);
  const vars: Record<string, string> = { ...initialVars };
  const out: Exchange[] = [];
  for (const step of steps) {
    const path = fill(step.path, vars);
    const headers = Object.fromEntries(Object.entries(step.headers ?? {}).map(([k, v]) => [k, fill(v, vars)]));
    let body: Uint8Array | undefined;
    let shown: string | undefined;
    if (step.json !== undefined) {
      const text = JSON.stringify(fillJson(step.json, vars));
      body = Buffer.from(text);
      shown = text;
    } else if (typeof step.raw === 'string') {
      body = Buffer.from(fill(step.raw, vars));
      shown = fill(step.raw, vars);
    } else if (step.raw !== undefined) {
      body = step.raw;
      shown = `<${step.raw.length} bytes>`;
    } else if (step.chunks !== undefined) {
      shown = `<chunked: ${step.chunks.map((c) => c.length).join(' + ') || 'no chunks'}>`;
    }
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    // Forced, so that even zero chunks go out chunked (node would send Content-Length: 0).
    if (step.chunks !== undefined) headers['Transfer-Encoding'] = 'chunked';
    // The request is normalised first, so ids are numbered by first appearance as in transcript.py.
    const request = describeRequest(
      step.method,
      norm.text(path),
      Object.fromEntries(Object.entries(step.headers ?? {}).map(([k, v]) => [k, norm.text(fill(v, vars))])),
      shown === undefined ? undefined : norm.text(shown),
    );
    let answer = await send(base, step.method, path, headers, body, step.chunks);
    if (step.until !== undefined) {
      const deadline = Date.now() + POLL_LIMIT_MS;
      while (!step.until(parseJson(answer.body)) && Date.now() < deadline) {
        await sleep(POLL_MS);
        answer = await send(base, step.method, path, headers, body, step.chunks);
      }
    }
    const exchangeBody = bodyOf(answer, step.method, norm);
    if (step.save !== undefined) {
      const parsed = parseJson(answer.body);
      for (const [name, key] of Object.entries(step.save)) {
        const v = key.split('.').reduce<unknown>(
          (at, k) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[k] : undefined),
          parsed,
        );
        if (typeof v === 'string') vars[name] = v;
      }
    }
    const normHeaders = new Map<string, string>();
    for (const [k, v] of answer.headers) {
      // As transcript.py: after imports, glance_store has added its reserved stores to the
      // cached enabled_backends, so Glance lists them here or not depending on process history.
      const value = k === 'openstack-image-store-ids' ? v.replace(RESERVED_STORES, '') : v;
      normHeaders.set(k, norm.text(value));
    }
    out.push({
      case: step.case,
      request,
      status: answer.status,
      headers: normHeaders,
      body: exchangeBody,
    });
  }
  return out;
}
