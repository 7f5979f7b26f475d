/**
 * The http (read-only) driver: the read half of the driver contract against a local HTTP
 * server this test starts, then what is particular to it (redirects, servers that ignore
 * Range, HEAD sizes, basic auth, the address policy, Glance's refusal of uploads).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpDriver, type HttpDriver, type HttpStoreDriverOptions } from '../../src/blob/drivers/http-driver.js';
import { Gone, Invalid, NotFound, ServiceUnavailable } from '../../src/domain/errors.js';
import { describeDriverContract, readAll, sourceOf } from './driver-contract.js';
import { ImageServer } from '../helpers/image-http-server.js';

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

describe('http driver: TLS options and proxies', () => {
  const data = randomBytes(50_000);
  let dir: string;
  let tlsServer: HttpsServer;
  let httpsBase: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iris-http-tls-'));
    // A throwaway self-signed certificate for 127.0.0.1.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => {
      res.writeHead(200, { 'content-length': data.length }).end(data);
    });
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    httpsBase = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    tlsServer?.closeAllConnections();
    tlsServer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("https_insecure = true (Glance's default) reads from a self-signed server", async () => {
    const driver = driverFor({ https_insecure: true });
    try {
      const { stream, size } = await driver.read(`${httpsBase}/x.img`);
      assert.equal(size, data.length);
      assert.ok((await readAll(stream)).equals(data));
    } finally {
      await driver.close();
    }
  });

  test('https_insecure = false verifies: refused without the CA, read with https_ca_certificates_file', async () => {
    const strict = driverFor({ https_insecure: false });
    const trusting = driverFor({ https_insecure: false, https_ca_certificates_file: join(dir, 'cert.pem') });
    try {
      await assert.rejects(strict.read(`${httpsBase}/x.img`), (err: unknown) => {
        assert.ok(err instanceof ServiceUnavailable);
        assert.match(String((err.cause as Error | undefined)?.message ?? (err.cause as { code?: string } | undefined)?.code), /self[- ]signed|certificate/i);
        return true;
      });
      const { stream } = await trusting.read(`${httpsBase}/x.img`, { range: { start: 5, end: 9 } });
      assert.ok((await readAll(stream)).equals(data.subarray(5, 10)));
    } finally {
      await strict.close();
      await trusting.close();
    }
  });

  test('http_proxy_information: requests go through the proxy of their scheme; the target is still checked', async () => {
    const images = new ImageServer();
    await images.start();
    images.objects.set('p', data);
    const seen: string[] = [];
    // A minimal proxy: CONNECT tunnels, and absolute-URI requests forwarded.
    const proxy = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const upstream = httpRequest(req.url ?? '', { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const viaProxy = driverFor({ http_proxy_information: { http: proxyUrl } });
    const refusing = driverFor({ http_proxy_information: { http: proxyUrl }, addressPolicy: { allowPrivateNetworks: true } });
    try {
      const { stream, size } = await viaProxy.read(`${images.base}/images/p`);
      assert.equal(size, data.length);
      assert.ok((await readAll(stream)).equals(data));
      assert.equal(seen.length, 1, seen.join(', '));
      assert.match(seen[0]!, new RegExp(`${new URL(images.base).host}`));
      seen.length = 0;
      await assert.rejects(refusing.read(`${images.base}/images/p`), Invalid);
      assert.deepEqual(seen, [], 'a refused target never reaches the proxy');
    } finally {
      await viaProxy.close();
      await refusing.close();
      proxy.closeAllConnections();
      proxy.close();
      await images.stop();
    }
  });
});
