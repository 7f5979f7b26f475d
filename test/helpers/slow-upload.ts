/**
 * A chunked image upload (PUT /v2/images/{id}/file, no Content-Length) that writes slowly and
 * can be left hanging, so a test can act while the server is mid-upload (kill it, abort,
 * inspect state). Uses node:http because fetch cannot pace a request body chunk by chunk.
 *
 * @example
 *   const up = startSlowUpload(`${base}/v2/images/${id}/file`, { totalBytes: 20 << 20 });
 *   await up.sentAtLeast(1 << 20);
 *   up.stop();           // stop writing, leave the request open
 *   await up.settled;    // resolves whatever happens to the request (answer or socket error)
 */
import { request, type ClientRequest } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';

export interface SlowUploadOptions {
  /** Bytes to send in total if never stopped (default 20 MiB). */
  readonly totalBytes?: number;
  /** Size of each write (default 64 KiB). */
  readonly chunkBytes?: number;
  /** Pause between writes (default 20 ms). */
  readonly delayMs?: number;
  readonly headers?: Record<string, string>;
}

export interface UploadOutcome {
  /** The server's status code, when it answered. */
  readonly status?: number;
  readonly body?: string;
  /** The socket error, when the connection died instead (e.g. the server was killed). */
  readonly error?: Error;
}

export interface SlowUpload {
  readonly req: ClientRequest;
  /** Bytes handed to the socket so far. */
  sent(): number;
  /** Resolves once `n` bytes were written; rejects if the upload ends first. */
  sentAtLeast(n: number): Promise<void>;
  /** Stop writing; the request stays open (no final chunk). */
  stop(): void;
  /** Settles (never rejects) when the server answers or the connection fails. */
  readonly settled: Promise<UploadOutcome>;
}

export function startSlowUpload(url: string, opts: SlowUploadOptions = {}): SlowUpload {
  const total = opts.totalBytes ?? 20 * 1024 * 1024;
  const chunkBytes = opts.chunkBytes ?? 64 * 1024;
  const delayMs = opts.delayMs ?? 20;
  const u = new URL(url);
  const req = request({
    method: 'PUT',
    hostname: u.hostname,
    port: u.port,
    path: `${u.pathname}${u.search}`,
    headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json', ...opts.headers },
  });
  // No Content-Length: node sends Transfer-Encoding: chunked.
  let sent = 0;
  let stopped = false;
  let ended = false;
  const waiters: { n: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const wake = (): void => {
    for (const w of [...waiters]) {
      if (sent >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      } else if (ended) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(new Error(`upload ended after ${sent} bytes, before ${w.n}`));
      }
    }
  };

  const settled = new Promise<UploadOutcome>((resolve) => {
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.once('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8') }));
      res.once('error', (error) => resolve({ status: res.statusCode, error }));
    });
    req.once('error', (error) => resolve({ error }));
  }).finally(() => {
    ended = true;
    stopped = true;
    wake();
  });

  void (async () => {
    try {
      while (!stopped && sent < total) {
        const chunk = randomBytes(Math.min(chunkBytes, total - sent));
        if (!req.write(chunk)) await Promise.race([once(req, 'drain'), settled]);
        sent += chunk.length;
        wake();
        await new Promise((r) => setTimeout(r, delayMs));
      }
      if (!stopped) req.end();
    } catch {
      // the connection died; `settled` reports it
    } finally {
      if (!stopped) {
        ended = true;
        wake();
      }
    }
  })();

  return {
    req,
    sent: () => sent,
    sentAtLeast: (n) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ n, resolve, reject });
        wake();
      }),
    stop: () => {
      stopped = true;
    },
    settled,
  };
}
