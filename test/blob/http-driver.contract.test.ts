/**
 * The http (read-only) driver: the read half of the driver contract against a local HTTP
 * server this test starts, then what is particular to it (redirects, servers that ignore
 * Range, HEAD sizes, basic auth, the address policy, Glance's refusal of uploads).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createHttpDriver, type HttpDriver, type HttpStoreDriverOptions } from '../../src/blob/drivers/http-driver.js';
import { Gone, Invalid, NotFound, ServiceUnavailable } from '../../src/domain/errors.js';
import { describeDriverContract, readAll, sourceOf } from './driver-contract.js';

/** A small image server: GET/HEAD with single Range, plus paths that redirect or ignore Range. */
class ImageServer {
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

const LOOPBACK_ALLOWED = { allowPrivateNetworks: false, allowLoopback: true } as const;

function driverFor(overrides: Partial<HttpStoreDriverOptions> = {}): HttpDriver {
  return createHttpDriver({
    https_insecure: false,
    https_ca_certificates_file: null,
    http_proxy_information: {},
    onCleanupError: () => assert.fail('no clean-up in a read-only store'),
    storeId: 'http',
    addressPolicy: LOOPBACK_ALLOWED,
    // Short, so a hung request fails the test rather than the runner.
    headersTimeoutMs: 10_000,
    ...overrides,
  });
}

{
  const server = new ImageServer();
  describeDriverContract('http (read-only)', async () => {
    await server.start();
    const driver = driverFor();
    return {
      driver,
      chunkSize: 64 * 1024,
      async seed(key, data) {
        server.objects.set(key, data);
        return `${server.base}/images/${key}`;
      },
      missingLocation: (key) => `${server.base}/images/${key}`,
      foreignLocations: ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'http://'],
      async teardown() {
        await driver.close();
        await server.stop();
      },
    };
  });
}

describe('http driver', () => {
  const server = new ImageServer();
  let driver: HttpDriver;
  const data = randomBytes(300_000);
  before(async () => {
    await server.start();
    server.objects.set('img', data);
    driver = driverFor();
  });
  after(async () => {
    await driver.close();
    await server.stop();
  });

  test('follows up to 5 redirects (301, 302) for GET and HEAD, and refuses a 6th', async () => {
    const { stream, size } = await driver.read(`${server.base}/redirect/5/images/img`);
    assert.equal(size, data.length);
    assert.ok((await readAll(stream)).equals(data));
    assert.equal(await driver.size(`${server.base}/redirect/3/images/img`), data.length);
    await assert.rejects(driver.read(`${server.base}/redirect/6/images/img`), (err: unknown) => {
      assert.ok(err instanceof ServiceUnavailable);
      assert.match(err.message, /exceeded 5 redirects/);
      return true;
    });
  });

  test('a ranged read through redirects sends Range to the final URL', async () => {
    server.requests.length = 0;
    const { stream, size } = await driver.read(`${server.base}/redirect/2/images/img`, { range: { start: 1000, end: 1999 } });
    assert.equal(size, data.length);
    assert.ok((await readAll(stream)).equals(data.subarray(1000, 2000)));
    assert.deepEqual(server.requests.map((r) => r.range), ['bytes=1000-1999', 'bytes=1000-1999', 'bytes=1000-1999']);
  });

  test('a server that ignores Range: the range is cut from the whole body', async () => {
    for (const range of [{ start: 0, end: 0 }, { start: 70_000, end: 200_000 }, { start: data.length - 1, end: data.length - 1 }]) {
      const { stream, size } = await driver.read(`${server.base}/norange/img`, { range });
      assert.equal(size, data.length);
      assert.ok((await readAll(stream)).equals(data.subarray(range.start, range.end + 1)), `${range.start}-${range.end}`);
    }
  });

  test('size comes from HEAD; a missing object is NotFound for HEAD and GET', async () => {
    server.requests.length = 0;
    assert.equal(await driver.size(`${server.base}/images/img`), data.length);
    assert.deepEqual(server.requests.map((r) => r.method), ['HEAD']);
    await assert.rejects(driver.size(`${server.base}/images/nope`), NotFound);
    await assert.rejects(driver.read(`${server.base}/images/nope`), NotFound);
  });

  test('credentials in the URL are sent as basic auth', async () => {
    const port = new URL(server.base).port;
    const { stream } = await driver.read(`http://u:p%20w@127.0.0.1:${port}/private/img`);
    assert.ok((await readAll(stream)).equals(data));
    await assert.rejects(driver.read(`${server.base}/private/img`), ServiceUnavailable, 'a 401 without them');
  });

  test('uploads are refused as Glance refuses them (StoreAddDisabled, 410) and nothing is read', async () => {
    const source = sourceOf(randomBytes(10));
    await assert.rejects(driver.write('img2', source), (err: unknown) => {
      assert.ok(err instanceof Gone);
      assert.equal(err.message, 'Error in store configuration. Adding images to store is disabled.');
      return true;
    });
    assert.equal(source.readableFlowing, null);
    assert.deepEqual(await driver.listStaging(), []);
  });

  test('delete leaves the remote data alone (Glance cannot delete from http) and refuses foreign locations', async () => {
    await driver.delete(`${server.base}/images/img`);
    assert.ok(server.objects.has('img'));
    await assert.rejects(driver.delete('file:///etc/passwd'), Invalid);
  });

  test('the web-download address policy applies to every fetch: loopback refused unless allowed, metadata always', async () => {
    const strict = driverFor({ addressPolicy: { allowPrivateNetworks: true } });
    try {
      server.requests.length = 0;
      await assert.rejects(strict.read(`${server.base}/images/img`), Invalid);
      await assert.rejects(strict.size(`${server.base}/images/img`), Invalid);
      // A host name is resolved and checked, not trusted.
      const named = driverFor({
        addressPolicy: { allowPrivateNetworks: true },
        lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      });
      await assert.rejects(named.read(`http://images.example.com:${new URL(server.base).port}/images/img`), Invalid);
      await named.close();
      assert.deepEqual(server.requests, [], 'no request reached the server');
    } finally {
      await strict.close();
    }
    // Allowed to reach loopback, still not the metadata service through a redirect.
    await assert.rejects(driver.read(`${server.base}/to-metadata`), Invalid);
  });
});
