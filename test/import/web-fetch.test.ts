/**
 * The web-download fetcher against real HTTP servers on 127.0.0.1. Only loopback is ever
 * contacted, and only with `allowLoopback: true`; every refusal test also proves, through
 * node:diagnostics_channel, that no connection was even attempted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import { Invalid, IrisError, TooLarge } from '../../src/domain/errors.js';
import { DEFAULT_IMPORT_FILTER } from '../../src/import/uri-filter.js';
import { openWebDownload } from '../../src/import/web-fetch.js';
import type { HostLookup, WebDownloadOptions } from '../../src/import/web-fetch.js';

const CAP = 1024 * 1024 * 1024;

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

// ---- servers -------------------------------------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  readonly port: number;
  readonly base: string;
  /** Requests seen, in order. */
  readonly requests: IncomingMessage[];
  /** Connections currently open on the server side. */
  open(): number;
}

async function listen(server: Server): Promise<{ port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, sockets };
}

async function shut(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  server.close();
  await once(server, 'close');
}

async function withServer(handler: Handler, body: (server: TestServer) => Promise<void>): Promise<void> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const { port, sockets } = await listen(server);
  try {
    await body({ port, base: `http://127.0.0.1:${port}`, requests, open: () => sockets.size });
  } finally {
    await shut(server, sockets);
  }
}

function send(res: ServerResponse, data: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
  res.end(data);
}

function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location });
  res.end('moved');
}

// ---- what the fetcher touched --------------------------------------------------------------

interface Watch {
  /** undici's `beforeConnect`: every connection it was about to open, as host:port. */
  readonly attempts: string[];
  /** node's `net.client.socket`: every TCP socket created. */
  readonly sockets: number[];
  /** undici's `connected`: the peer address of every connection made. */
  readonly peers: string[];
  stop(): void;
}

function watchConnections(): Watch {
  const attempts: string[] = [];
  const sockets: number[] = [];
  const peers: string[] = [];
  const onAttempt = (message: unknown) => {
    const { hostname, port } = (message as { connectParams: { hostname: string; port: string } }).connectParams;
    attempts.push(`${hostname}:${port}`);
  };
  const onSocket = () => sockets.push(1);
  const onConnected = (message: unknown) => {
    peers.push(String((message as { socket: Socket }).socket.remoteAddress));
  };
  subscribe('undici:client:beforeConnect', onAttempt);
  subscribe('net.client.socket', onSocket);
  subscribe('undici:client:connected', onConnected);
  return {
    attempts,
    sockets,
    peers,
    stop() {
      unsubscribe('undici:client:beforeConnect', onAttempt);
      unsubscribe('net.client.socket', onSocket);
      unsubscribe('undici:client:connected', onConnected);
    },
  };
}

// ---- helpers -------------------------------------------------------------------------------

/** Options for fetching from test servers: loopback allowed, their ports allowed. */
function local(ports: number[], extra: Partial<WebDownloadOptions> = {}): WebDownloadOptions {
  return {
    filter: { ...DEFAULT_IMPORT_FILTER, allowedPorts: ports },
    allowPrivateNetworks: false,
    allowLoopback: true,
    sizeCap: CAP,
    ...extra,
  };
}

/** Production defaults: no loopback, ports 80 and 443. */
const STRICT: WebDownloadOptions = { filter: DEFAULT_IMPORT_FILTER, allowPrivateNetworks: false, sizeCap: CAP };

/** A resolver answering from a script, one answer per call (the last one repeats). */
function scriptedLookup(...answers: string[][]): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<LookupAddress[]> => {
    const answer = answers[Math.min(calls.length, answers.length - 1)] ?? [];
    calls.push(hostname);
    return answer.map((address) => ({ address, family: isIP(address) }));
  };
  return Object.assign(lookup, { calls });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isError(type: typeof Invalid | typeof TooLarge, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

/** The call fails with Invalid matching `message`, and no connection was attempted at all. */
async function refusedUncontacted(uri: string, opts: WebDownloadOptions, message: RegExp): Promise<void> {
  const watch = watchConnections();
  try {
    await assert.rejects(openWebDownload(uri, opts), isError(Invalid, message), uri);
  } finally {
    watch.stop();
  }
  assert.deepEqual(watch.attempts, [], `${uri}: undici was about to connect`);
  assert.deepEqual(watch.sockets, [], `${uri}: a socket was created`);
  assert.deepEqual(watch.peers, [], `${uri}: a connection was made`);
}

// ---- fetching ------------------------------------------------------------------------------

test('streams the body of a 200 with its Content-Length, connecting to 127.0.0.1 only', async () => {
  const data = randomBytes(1024 * 1024 + 13);
  await withServer(
    (_req, res) => send(res, data),
    async (server) => {
      const watch = watchConnections();
      try {
        const download = await openWebDownload(`${server.base}/images/jammy.img?v=1`, local([server.port]));
        assert.equal(download.contentLength, data.length);
        assert.equal(download.finalUri, `${server.base}/images/jammy.img?v=1`);
        assert.equal(sha256(await readAll(download.stream)), sha256(data));
      } finally {
        watch.stop();
      }
      // The observers see real connections (so their silence elsewhere means something).
      assert.deepEqual(watch.attempts, [`127.0.0.1:${server.port}`]);
      assert.equal(watch.sockets.length, 1);
      assert.deepEqual(watch.peers, ['127.0.0.1']);
      const [req] = server.requests;
      assert.equal(req?.method, 'GET');
      assert.equal(req?.url, '/images/jammy.img?v=1');
      assert.equal(req?.headers['accept-encoding'], 'identity');
      await eventually(() => server.open() === 0, 'the connection closed after the body');
    },
  );
});

test('streams a chunked body without Content-Length', async () => {
  const data = randomBytes(300_000);
  await withServer(
    (_req, res) => {
      res.writeHead(200);
      for (let at = 0; at < data.length; at += 70_000) res.write(data.subarray(at, at + 70_000));
      res.end();
    },
    async (server) => {
      const download = await openWebDownload(`${server.base}/x`, local([server.port]));
      assert.equal(download.contentLength, null);
      assert.equal(sha256(await readAll(download.stream)), sha256(data));
    },
  );
});

test('backpressure: an unread body is not buffered; the server waits', async () => {
  const total = 32 * 1024 * 1024;
  const chunk = randomBytes(64 * 1024);
  let written = 0;
  let finished = false;
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'content-length': total });
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(() => (finished = true));
      };
      pump();
    },
    async (server) => {
      const download = await openWebDownload(`${server.base}/big`, local([server.port]));
      await sleep(300);
      assert.equal(finished, false, 'the whole body was sent while nobody read it');
      assert.ok(written < total, `server wrote ${written} of ${total} bytes`);
      let received = 0;
      const hash = createHash('sha256');
      for await (const part of download.stream) {
        received += (part as Buffer).length;
        hash.update(part as Buffer);
      }
      assert.equal(received, total);
      const expected = createHash('sha256');
      for (let i = 0; i < total / chunk.length; i++) expected.update(chunk);
      assert.equal(hash.digest('hex'), expected.digest('hex'));
    },
  );
});

test('a Content-Length up to the cap is fine; beyond it, TooLarge before any body is read', async () => {
  const data = randomBytes(2000);
  await withServer(
    (_req, res) => send(res, data),
    async (server) => {
      const exact = await openWebDownload(`${server.base}/x`, local([server.port], { sizeCap: 2000 }));
      assert.equal(sha256(await readAll(exact.stream)), sha256(data));
      await assert.rejects(
        openWebDownload(`${server.base}/x`, local([server.port], { sizeCap: 1999 })),
        isError(TooLarge, /exceeds the image size cap of 1999 bytes/),
      );
      await eventually(() => server.open() === 0, 'connections closed');
    },
  );
});

test('a chunked body beyond the cap fails the stream with TooLarge and closes the connection', async () => {
  const part = randomBytes(1000);
  await withServer(
    (req, res) => {
      res.writeHead(200);
      res.write(part);
      res.write(part);
      res.write(part);
      // /open never ends: the fetcher must hang up itself.
      if (req.url === '/open') return;
      res.end();
    },
    async (server) => {
      const fits = await openWebDownload(`${server.base}/done`, local([server.port], { sizeCap: 3000 }));
      assert.equal((await readAll(fits.stream)).length, 3000);

      for (const path of ['/done', '/open']) {
        const download = await openWebDownload(`${server.base}${path}`, local([server.port], { sizeCap: 2500 }));
        assert.equal(download.contentLength, null);
        await assert.rejects(readAll(download.stream), isError(TooLarge, /exceeds the image size cap of 2500 bytes/));
      }
      await eventually(() => server.open() === 0, 'connections closed');
    },
  );
});

// ---- statuses and redirects ----------------------------------------------------------------

test('a non-2xx final status is Invalid naming the status; the connection is closed', async () => {
  await withServer(
    (req, res) => {
      if (req.url === '/gone') return redirect(res, 302, '/missing');
      if (req.url === '/no-location') {
        res.writeHead(301);
        return void res.end();
      }
      res.writeHead(req.url === '/boom' ? 500 : 404);
      res.end('not here');
    },
    async (server) => {
      const opts = local([server.port]);
      await assert.rejects(openWebDownload(`${server.base}/missing`, opts), isError(Invalid, /answered HTTP 404/));
      await assert.rejects(openWebDownload(`${server.base}/boom`, opts), isError(Invalid, /answered HTTP 500/));
      await assert.rejects(
        openWebDownload(`${server.base}/gone`, opts),
        isError(Invalid, new RegExp(`127\\.0\\.0\\.1:${server.port}/missing answered HTTP 404`)),
      );
      await assert.rejects(
        openWebDownload(`${server.base}/no-location`, opts),
        isError(Invalid, /answered 301 without a Location/),
      );
      await eventually(() => server.open() === 0, 'connections closed');
    },
  );
});

test('redirects are followed (301, 302, 303, 307, 308; relative and absolute), up to maxRedirects', async () => {
  const data = randomBytes(5000);
  await withServer(
    (_req, res) => send(res, data),
    async (other) => {
      const chain: Record<string, [number, string]> = {
        '/r1': [301, '/r2'],
        '/r2': [302, 'r3'],
        '/r3': [303, '/r4?q=1'],
        '/r4?q=1': [307, '/r5'],
        '/r5': [308, `${other.base}/final`],
      };
      await withServer(
        (req, res) => {
          const [status, location] = chain[req.url ?? ''] ?? [404, ''];
          if (status === 404) return void res.writeHead(404).end();
          redirect(res, status, location);
        },
        async (server) => {
          const opts = local([server.port, other.port]);
          const download = await openWebDownload(`${server.base}/r1`, opts);
          assert.equal(download.finalUri, `${other.base}/final`);
          assert.equal(sha256(await readAll(download.stream)), sha256(data));
          assert.deepEqual(
            server.requests.map((req) => req.url),
            ['/r1', '/r2', '/r3', '/r4?q=1', '/r5'],
          );

          await assert.rejects(
            openWebDownload(`${server.base}/r1`, { ...opts, maxRedirects: 4 }),
            isError(Invalid, /more than 4 redirects/),
          );
          await assert.rejects(
            openWebDownload(`${server.base}/r5`, { ...opts, maxRedirects: 0 }),
            isError(Invalid, /more than 0 redirects/),
          );
          const one = await openWebDownload(`${server.base}/r5`, { ...opts, maxRedirects: 1 });
          await readAll(one.stream);
          await eventually(() => server.open() === 0 && other.open() === 0, 'connections closed');
        },
      );
    },
  );
});

test('extra headers (glance-download\'s token) go to the first origin only, never across a redirect', async () => {
  const data = randomBytes(100);
  await withServer(
    (_req, res) => send(res, data),
    async (other) => {
      await withServer(
        (req, res) => redirect(res, 302, req.url === '/same' ? '/elsewhere' : `${other.base}/final`),
        async (server) => {
          const opts = local([server.port, other.port], { headers: { 'x-auth-token': 'secret' }, maxRedirects: 2 });
          // The same origin after a redirect still gets it; another origin does not.
          await readAll((await openWebDownload(`${server.base}/same`, opts)).stream);
          assert.deepEqual(
            server.requests.map((req) => [req.url, req.headers['x-auth-token']]),
            [
              ['/same', 'secret'],
              ['/elsewhere', 'secret'],
            ],
          );
          assert.deepEqual(
            other.requests.map((req) => [req.url, req.headers['x-auth-token']]),
            [['/final', undefined]],
          );
        },
      );
    },
  );
});

test('a redirect to a refused address, port or scheme is refused without contacting it', async () => {
  const targets: Record<string, string> = {
    '/private': 'http://10.0.0.1/image.img',
    '/metadata': 'http://169.254.169.254/latest/meta-data/',
    '/decimal': 'http://2130706433/',
    '/mapped': 'http://[::ffff:a9fe:a9fe]/',
    '/ftp': 'ftp://127.0.0.1/image.img',
    '/file': 'file:///etc/passwd',
    '/invalid': 'http://[not-an-ip/',
    '/scheme-relative': '//2130706433/',
    '/backslashes': '\\\\10.0.0.1\\x',
  };
  await withServer(
    (req, res) => {
      const target = targets[req.url ?? ''];
      if (target) return redirect(res, 302, target);
      if (req.url === '/port') return redirect(res, 302, `http://127.0.0.1:${Number(req.headers.host?.split(':')[1]) + 1}/`);
      res.writeHead(404).end();
    },
    async (server) => {
      const expectations: Array<[string, RegExp]> = [
        ['/private', /refused: 10\.0\.0\.1 is not a public address/],
        ['/metadata', /refused: 169\.254\.169\.254 is not a public address/],
        ['/decimal', /redirect target does not pass filtering: http:\/\/2130706433\//],
        ['/mapped', /refused: ::ffff:a9fe:a9fe is not a public address/],
        ['/ftp', /redirect target does not pass filtering: ftp:/],
        ['/file', /redirect target does not pass filtering: file:/],
        ['/port', /redirect target does not pass filtering: http:\/\/127\.0\.0\.1:\d+\//],
        ['/invalid', /redirected to an invalid URI/],
        ['/scheme-relative', /redirect target does not pass filtering: http:\/\/2130706433\//],
        ['/backslashes', /redirect target does not pass filtering: http:\/\/10\.0\.0\.1\/x/],
      ];
      for (const [path, message] of expectations) {
        const watch = watchConnections();
        try {
          await assert.rejects(openWebDownload(`${server.base}${path}`, local([server.port])), isError(Invalid, message));
        } finally {
          watch.stop();
        }
        // Only the test server itself was contacted.
        assert.deepEqual(watch.attempts, [`127.0.0.1:${server.port}`], path);
        assert.deepEqual(watch.peers, ['127.0.0.1'], path);
      }
    },
  );
});

// ---- nothing but public addresses ----------------------------------------------------------

test('private, loopback, link-local and other non-public targets are refused before any socket exists', async () => {
  const cases: Array<[string, RegExp]> = [
    ['http://10.0.0.1/image.img', /10\.0\.0\.1 is not a public address/],
    ['http://192.168.1.1/', /192\.168\.1\.1 is not a public address/],
    ['http://172.16.5.4/', /not a public address/],
    ['http://100.64.0.1/', /not a public address/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is not a public address/],
    ['http://[fd00::1]/', /fd00::1 is not a public address/],
    ['http://[fe80::1]/', /not a public address/],
    ['http://127.0.0.1/', /127\.0\.0\.1 is not a public address/],
    ['https://127.0.0.1/', /127\.0\.0\.1 is not a public address/],
    ['http://[::1]/', /::1 is not a public address/],
    ['http://[::ffff:7f00:1]/', /::ffff:7f00:1 is not a public address/],
    ['http://[::ffff:127.0.0.1]/', /not a public address/],
    ['http://[::127.0.0.1]/', /not a public address/],
    ['http://[64:ff9b::a9fe:a9fe]/', /not a public address/],
    ['http://[2002:7f00:1::]/', /not a public address/],
    ['http://0.0.0.0/', /0\.0\.0\.0 is not a public address/],
    ['http://[::]/', /not a public address/],
    ['http://localhost/', /localhost resolves to a non-public address/],
    // Numeric spellings of 127.0.0.1: refused by the filter, as Glance refuses them.
    ['http://2130706433/', /does not pass filtering: http:\/\/2130706433\//],
    ['http://0x7f.1/', /does not pass filtering/],
    ['http://127.1/', /does not pass filtering/],
    ['http://0177.0.0.1/', /does not pass filtering/],
  ];
  for (const [uri, message] of cases) await refusedUncontacted(uri, STRICT, message);
});

test('allowPrivateNetworks still refuses loopback, link-local (metadata) and unspecified', async () => {
  const opts = { ...STRICT, allowPrivateNetworks: true };
  for (const uri of [
    'http://127.0.0.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://localhost/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::a9fe:a9fe]/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
  ]) {
    await refusedUncontacted(uri, opts, /not a public address|non-public address/);
  }
});

test('a host name is refused when ANY of its addresses is not allowed', async () => {
  for (const answer of [
    ['93.184.216.34', '10.0.0.1'],
    ['10.0.0.1', '93.184.216.34'],
    ['2606:4700::1111', '::1'],
    ['93.184.216.34', '::ffff:169.254.169.254'],
  ]) {
    const lookup = scriptedLookup(answer);
    await refusedUncontacted('http://files.example.test/x', { ...STRICT, lookup }, /files\.example\.test resolves to a non-public address/);
    assert.deepEqual(lookup.calls, ['files.example.test']);
  }
});

test('a host name resolving to an IP on disallowed_hosts is refused (Glance checks resolved addresses too)', async () => {
  await withServer(
    (_req, res) => send(res, Buffer.from('x')),
    async (server) => {
      const opts = local([server.port], { lookup: scriptedLookup(['127.0.0.1']) });
      const filter = { ...opts.filter, disallowedHosts: ['127.0.0.1'] };
      await refusedUncontacted(`http://files.example.test:${server.port}/`, { ...opts, filter }, /files\.example\.test resolves to a disallowed address/);
      await refusedUncontacted(`${server.base}/`, { ...opts, filter }, /does not pass filtering/);
    },
  );
});

test('filter rejections: nothing is contacted', async () => {
  await withServer(
    (_req, res) => send(res, Buffer.from('x')),
    async (server) => {
      const opts = local([server.port]);
      await refusedUncontacted(`${server.base}/`, { ...opts, filter: DEFAULT_IMPORT_FILTER }, /URI for web-download does not pass filtering/);
      await refusedUncontacted(`ftp://127.0.0.1:${server.port}/`, opts, /does not pass filtering/);
      await refusedUncontacted(
        `${server.base}/`,
        { ...opts, filter: { ...opts.filter, allowedHosts: ['images.example'] } },
        /does not pass filtering/,
      );
      await refusedUncontacted(
        `${server.base}/`,
        { ...opts, filter: { ...opts.filter, allowedSchemes: ['https'] } },
        /does not pass filtering/,
      );
      await refusedUncontacted('not a uri', opts, /does not pass filtering: not a uri/);
      // A scheme the filter lets through but this fetcher does not speak.
      await refusedUncontacted(
        `gopher://127.0.0.1:${server.port}/`,
        { ...opts, filter: { ...opts.filter, allowedSchemes: ['gopher'] } },
        /supports only http and https/,
      );
    },
  );
});

// ---- pinning -------------------------------------------------------------------------------

test('the connection goes to the checked address; the host is not resolved again (no rebinding)', async () => {
  await withServer(
    (req, res) => (req.url === '/again' ? redirect(res, 302, '/x') : send(res, Buffer.from('pinned'))),
    async (server) => {
      // Later answers would point somewhere private: a second resolution must not happen.
      const lookup = scriptedLookup(['127.0.0.1'], ['10.0.0.1']);
      const watch = watchConnections();
      try {
        const download = await openWebDownload(`http://files.example.test:${server.port}/x`, local([server.port], { lookup }));
        assert.equal((await readAll(download.stream)).toString(), 'pinned');
      } finally {
        watch.stop();
      }
      assert.deepEqual(lookup.calls, ['files.example.test']);
      assert.deepEqual(watch.peers, ['127.0.0.1']);
      // The request still names the host; only the socket is pinned.
      assert.equal(server.requests[0]?.headers.host, `files.example.test:${server.port}`);

      // Every hop is checked anew: a redirect to the same host now resolving privately is refused.
      const rebinding = scriptedLookup(['127.0.0.1'], ['10.0.0.1']);
      const hop = watchConnections();
      try {
        await assert.rejects(
          openWebDownload(`http://files.example.test:${server.port}/again`, local([server.port], { lookup: rebinding })),
          isError(Invalid, /files\.example\.test resolves to a non-public address/),
        );
      } finally {
        hop.stop();
      }
      assert.deepEqual(rebinding.calls, ['files.example.test', 'files.example.test']);
      assert.deepEqual(hop.peers, ['127.0.0.1']);
    },
  );
});

test('when a checked address refuses the connection, the next checked one is tried', async () => {
  await withServer(
    (_req, res) => send(res, Buffer.from('second address')),
    async (server) => {
      // Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1 only).
      const lookup = scriptedLookup(['127.0.0.2', '127.0.0.1']);
      const download = await openWebDownload(`http://files.example.test:${server.port}/`, local([server.port], { lookup }));
      assert.equal((await readAll(download.stream)).toString(), 'second address');
    },
  );
});

test('https keeps the host name for SNI and verifies the certificate against it', async () => {
  const servernames: string[] = [];
  const context = createSecureContext({ key: TEST_KEY, cert: TEST_CERT });
  const server = createHttpsServer(
    {
      key: TEST_KEY,
      cert: TEST_CERT,
      SNICallback: (servername, callback) => {
        servernames.push(servername);
        callback(null, context);
      },
    },
    (_req, res) => send(res, Buffer.from('secret')),
  );
  const { port, sockets } = await listen(server);
  try {
    const lookup = scriptedLookup(['127.0.0.1']);
    // The certificate is self-signed for files.example.test: not trusted, so refused.
    await assert.rejects(
      openWebDownload(`https://files.example.test:${port}/x`, local([port], { lookup })),
      isError(Invalid, /could not verify the TLS certificate of files\.example\.test/),
    );
    assert.deepEqual(servernames, ['files.example.test']);
  } finally {
    await shut(server, sockets);
  }
});

// ---- failures ------------------------------------------------------------------------------

test('DNS failures are Invalid naming the host', async () => {
  const failing: HostLookup = async () => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example.test'), { code: 'ENOTFOUND' });
  };
  await refusedUncontacted('http://nowhere.example.test/', { ...STRICT, lookup: failing }, /cannot resolve host nowhere\.example\.test$/);
  await refusedUncontacted('http://nowhere.example.test/', { ...STRICT, lookup: scriptedLookup([]) }, /cannot resolve host/);
  const hanging: HostLookup = () => new Promise(() => {});
  await refusedUncontacted(
    'http://slow.example.test/',
    { ...STRICT, lookup: hanging, connectTimeoutMs: 50 },
    /timed out resolving slow\.example\.test/,
  );
});

test('connection refused is Invalid', async () => {
  let port = 0;
  await withServer(
    () => {},
    async (server) => {
      port = server.port;
    },
  );
  await assert.rejects(
    openWebDownload(`http://127.0.0.1:${port}/`, local([port])),
    isError(Invalid, new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`)),
  );
});

test('a server that never answers times out (headers), one that stalls mid-body times out (body)', async () => {
  await withServer(
    (req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10));
    },
    async (server) => {
      await assert.rejects(
        openWebDownload(`${server.base}/silent`, local([server.port], { headersTimeoutMs: 200 })),
        isError(Invalid, /timed out waiting for http:\/\/127\.0\.0\.1:\d+\/silent to answer/),
      );
      const download = await openWebDownload(`${server.base}/stall`, local([server.port], { bodyTimeoutMs: 200 }));
      await assert.rejects(readAll(download.stream), isError(Invalid, /timed out reading/));
      await eventually(() => server.open() === 0, 'connections closed');
    },
  );
});

test('a connection dropped mid-body fails the stream with Invalid', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(Buffer.alloc(1000), () => setTimeout(() => res.socket?.destroy(), 20));
    },
    async (server) => {
      const download = await openWebDownload(`${server.base}/x`, local([server.port]));
      await assert.rejects(readAll(download.stream), (err: unknown) => {
        assert.ok(err instanceof Invalid, String(err));
        assert.match(err.message, /^web-download failed: /);
        return true;
      });
    },
  );
});

test('aborting: before the call, while waiting for headers, and mid-body', async () => {
  const aborted = new AbortController();
  aborted.abort();
  const watch = watchConnections();
  try {
    await assert.rejects(openWebDownload('http://127.0.0.1:1/', local([1], { signal: aborted.signal })), {
      name: 'AbortError',
    });
  } finally {
    watch.stop();
  }
  assert.deepEqual(watch.attempts, []);

  await withServer(
    (req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200);
      res.write(Buffer.alloc(64 * 1024));
    },
    async (server) => {
      const waiting = new AbortController();
      setTimeout(() => waiting.abort(), 50);
      await assert.rejects(openWebDownload(`${server.base}/silent`, local([server.port], { signal: waiting.signal })), {
        name: 'AbortError',
      });
      await eventually(() => server.open() === 0, 'connection closed after abort while waiting');

      const reading = new AbortController();
      const download = await openWebDownload(`${server.base}/body`, local([server.port], { signal: reading.signal }));
      await assert.rejects(
        (async () => {
          for await (const _chunk of download.stream) reading.abort();
        })(),
        { name: 'AbortError' },
      );
      assert.equal(download.stream.destroyed, true);
      await eventually(() => server.open() === 0, 'connection closed after abort mid-body');
    },
  );
});

test('credentials in the URI are neither sent nor shown in messages', async () => {
  await withServer(
    (_req, res) => res.writeHead(404).end(),
    async (server) => {
      await assert.rejects(openWebDownload(`http://user:s3cret@127.0.0.1:${server.port}/x`, local([server.port])), (err: unknown) => {
        assert.ok(err instanceof Invalid);
        assert.doesNotMatch(err.message, /s3cret/);
        assert.match(err.message, /answered HTTP 404/);
        return true;
      });
      assert.equal(server.requests[0]?.headers.authorization, undefined);
      await assert.rejects(
        openWebDownload(`http://user:s3cret@127.0.0.1:${server.port + 1}/x`, local([server.port])),
        (err: unknown) => err instanceof Invalid && !err.message.includes('s3cret'),
      );
    },
  );
});

test('every failure above was a domain error and nothing was left unhandled', async () => {
  await sleep(50);
  assert.deepEqual(unhandled, []);
  assert.ok(new Invalid('x') instanceof IrisError);
});

// A self-signed certificate for files.example.test (EC P-256, valid for 100 years), test only.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgt/gDLGT9sxHPy8cH
agGm43oFc7/kCukBq4qz6nonQ6ihRANCAAQAOwW+z6dwEhXtskMfOJWDBODVRNhB
PV6byohEVifX+r1fgorn0kUySo6JPeyJ6bIECMOQNTN5yYgOnmZzEEPS
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBrzCCAVagAwIBAgIUb5D3bsf5HZWIXUF1BdnLKJ7reWYwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSZmlsZXMuZXhhbXBsZS50ZXN0MCAXDTI2MTEyNjA0Mzg0N1oY
DzIxMjYxMTAyMDQzODQ3WjAdMRswGQYDVQQDDBJmaWxlcy5leGFtcGxlLnRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQAOwW+z6dwEhXtskMfOJWDBODVRNhB
PV6byohEVifX+r1fgorn0kUySo6JPeyJ6bIECMOQNTN5yYgOnmZzEEPSo3IwcDAd
BgNVHQ4EFgQU0z/CLxD8XaRxoZDUX/byJcG5aT8wHwYDVR0jBBgwFoAU0z/CLxD8
XaRxoZDUX/byJcG5aT8wDwYDVR0TAQH/BAUwAwEB/zAdBgNVHREEFjAUghJmaWxl
cy5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDRwAwRAIgFhbSd88JNUtejCt8LWnf
Ky6//f9TlYEsf580TkyX/wsCIG6zy8PBjuxaPqEo6tF7m9bXuZkgU2/htK8iq7c2
gKwK
-----END CERTIFICATE-----
`;
