/**
 * A small HTTP server of image bytes for tests of the http store: GET and HEAD with a single
 * Range, 404 for what it lacks, and paths that redirect, ignore Range or want basic auth.
 * `objects` maps a key to its bytes, served at `/images/<key>`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';

/** A small image server: GET/HEAD with single Range, plus paths that redirect or ignore Range. */
export class ImageServer {
  readonly objects = new Map<string, Buffer>();
  readonly requests: Array<{ method: string; url: string; range?: string; authorization?: string }> = [];
  #server: Server = createServer((req, res) => this.#handle(req, res));
  base = '';

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    this.requests.push({ method: req.method ?? '', url: url.pathname, range: req.headers.range, authorization: req.headers.authorization });
    // /redirect/<n>/<rest>: n redirects, then <rest>.
    const hop = /^\/redirect\/(\d+)(\/.*)$/.exec(url.pathname);
    if (hop) {
      const n = Number(hop[1]);
      res.writeHead(n % 2 === 0 ? 302 : 301, { location: n > 1 ? `/redirect/${n - 1}${hop[2]}` : hop[2] });
      res.end();
      return;
    }
    if (url.pathname === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
      res.end();
      return;
    }
    if (url.pathname.startsWith('/private/') && req.headers.authorization !== `Basic ${Buffer.from('u:p w').toString('base64')}`) {
      res.writeHead(401).end();
      return;
    }
    const ignoreRange = url.pathname.startsWith('/norange/');
    const key = url.pathname.replace(/^\/(norange|private)\//, '/').replace(/^\/images\//, '/').slice(1);
    const data = this.objects.get(key);
    if (data === undefined) {
      res.writeHead(404).end('not here');
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && !ignoreRange) {
      const start = Number(range[1]);
      const end = range[2] === '' ? data.length - 1 : Math.min(Number(range[2]), data.length - 1);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${data.length}` });
      res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': data.length });
    res.end(req.method === 'HEAD' ? undefined : data);
  }
}

