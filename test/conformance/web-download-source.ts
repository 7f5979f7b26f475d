/**
 * The HTTP server both servers' web-download imports fetch from during a conformance run, on a
 * free port (transcript.py's own server wants port 80, which two transcript runs side by side
 * cannot share) of this machine's first non-loopback, non-link-local IPv4 address: the peer
 * (glance-api 2:25.1.0-2+deb12u5) refuses web-download from loopback and link-local addresses
 * unless the host is in allowed_hosts, which start.sh does not set; private addresses pass, as
 * they do in Iris with allow_private_networks. Without such an address it falls back to
 * 127.0.0.1 (then the peer refuses the transcript's successful web-download). It serves at `/wd.img` the 200,000 bytes transcript.py serves
 * (`random.Random('web-download').randbytes(200000)`, taken from Python itself so checksums match
 * transcript.md), and 404 for any other path.
 *
 * @example
 *   const src = await startWebDownloadSource();
 *   try { … src.url … } finally { await src.close(); }
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface WebDownloadSource {
  /** `http://<host>:<port>/wd.img` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const PYTHON = '/usr/bin/python3';

function transcriptPayload(): Buffer {
  return execFileSync(PYTHON, ['-c', "import random,sys; sys.stdout.buffer.write(random.Random('web-download').randbytes(200000))"], {
    maxBuffer: 1024 * 1024,
  });
}

/** The first IPv4 address that is neither loopback nor link-local (169.254/16), or undefined. */
export function externalAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.') && !a.address.startsWith('127.')) return a.address;
    }
  }
  return undefined;
}

export async function startWebDownloadSource(): Promise<WebDownloadSource> {
  const host = externalAddress() ?? '127.0.0.1';
  const data = transcriptPayload();
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/wd.img') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) });
      res.end(data);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '9' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/wd.img`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
