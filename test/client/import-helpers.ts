/**
 * Shared pieces of the import CLI tests: deterministic image bytes, a loopback file server for
 * web-download, and polling an image over HTTP until an import finished.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { json } from '../helpers/http.js';

/** `size` bytes that depend only on `seed` (so a failure can be reproduced). */
export function seededBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

export interface FileServer {
  /** URL of the served bytes. */
  readonly url: string;
  /** Requests received so far. */
  readonly hits: () => number;
  close(): Promise<void>;
}

/** Serves `data` at `/<name>` on a loopback port (what web-download fetches). */
export async function serveBytes(data: Buffer, name = 'disk.img'): Promise<FileServer> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url !== `/${name}`) {
      res.writeHead(404).end();
      return;
    }
    hits++;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${name}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Polls `GET /v2/images/{id}` until `done(image)` holds; fails with the last record after
 * `timeoutMs`, or at once when the image turns `killed` or an import into a store failed.
 */
export async function waitForImage(
  baseUrl: string,
  id: string,
  headers: Record<string, string>,
  done: (image: Record<string, any>) => boolean,
  timeoutMs = 60_000,
): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, any> = {};
  for (;;) {
    const r = await json('GET', `${baseUrl}/v2/images/${id}`, undefined, headers);
    if (r.status !== 200) throw new Error(`GET image ${id}: ${r.status} ${r.text}`);
    last = r.body;
    if (done(last)) return last;
    if (last.status === 'killed' || (typeof last.os_glance_failed_import === 'string' && last.os_glance_failed_import !== '')) {
      throw new Error(`import of ${id} failed: ${JSON.stringify(last)}`);
    }
    if (Date.now() > deadline) throw new Error(`image ${id} not done after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

/** The store ids an image's `stores` property lists (comma-separated in Glance). */
export function storesOf(image: Record<string, any>): string[] {
  return typeof image.stores === 'string' && image.stores !== '' ? image.stores.split(',').sort() : [];
}
