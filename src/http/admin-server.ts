/**
 * The admin listener: a small HTTP server apart from the API, loopback-only by default, that
 * serves `GET /metrics` (Prometheus text format) and nothing else. Kept off the API port so
 * metrics are never public unless the operator binds this listener beyond loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface AdminServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/**
 * Listens on `host`:`port` (0: any free port). A failing scrape answers 500 and is reported
 * to `onError`; other paths 404, other methods 405.
 *
 * @example
 *   const admin = await startAdminServer({ host: '127.0.0.1', port: 19292, metrics, onError });
 *   // curl http://127.0.0.1:19292/metrics
 */
export async function startAdminServer(opts: {
  readonly host: string;
  readonly port: number;
  readonly metrics: MetricsSource;
  readonly onError: (err: unknown) => void;
}): Promise<AdminServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: this listener serves /metrics only.\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed.\n');
      return;
    }
    opts.metrics.render().then(
      (text) => {
        response.writeHead(200, { 'content-type': opts.metrics.contentType, 'content-length': Buffer.byteLength(text) });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        opts.onError(err);
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected.\n');
      },
    );
  });
  // Scrapers keep connections open; they must not hold a stopping process.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The admin port for `[iris] admin_bind_port` (see its help): -1 derives it from bind_port. */
export function adminPort(adminBindPort: number, bindPort: number): number {
  if (adminBindPort !== -1) return adminBindPort;
  return bindPort > 0 && bindPort + 10000 <= 65535 ? bindPort + 10000 : 0;
}
