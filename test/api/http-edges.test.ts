/**
 * The HTTP edges of Glance's pipeline, against a real Iris: /healthcheck for every method and
 * Accept, every method on / and /versions, version negotiation in the path (/v2.9/images,
 * //v2//images, /versions/…), and CORS (preflight before authentication, headers on actual
 * requests, nothing for other origins). Expectations were recorded from Glance 25.1.0 (peer-glance,
 * with OS_CORS__ALLOWED_ORIGIN set, which its CORS filter reads) and compared header by header.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

const ALLOWED = 'http://allowed.example';
const OTHER_ALLOWED = 'https://other.example';
const STRANGER = 'http://evil.example';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const EXPOSE = 'X-Image-Meta-Checksum,X-Auth-Token,X-Subject-Token,X-Service-Token,X-OpenStack-Request-ID';
const CORS_HEADERS = [
  'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers',
  'access-control-max-age', 'access-control-allow-methods', 'access-control-allow-headers', 'vary',
];

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

let iris: IrisProcess;
let plain: IrisProcess;
let dir: string;
let disableFile: string;
let versionsBody: string;

/** A raw request: the path goes out exactly as written (doubled slashes included). */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const corsOf = (a: Answer): Record<string, unknown> =>
  Object.fromEntries(CORS_HEADERS.filter((h) => a.headers[h] !== undefined).map((h) => [h, a.headers[h]]));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iris-http-edges-'));
  disableFile = join(dir, 'healthcheck_disable');
  iris = await startIris({
    env: {
      IRIS__CORS__ALLOWED_ORIGIN: `${ALLOWED},${OTHER_ALLOWED}`,
      IRIS__HEALTHCHECK__DISABLE_BY_FILE_PATH: disableFile,
      IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
    },
  });
  plain = await startIris();
  versionsBody = (await send(iris.baseUrl, 'GET', '/versions')).body;
});

after(async () => {
  await iris?.stop();
  await plain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('healthcheck: every method but HEAD answers 200 OK as text; HEAD 204 with headers only; no request id', async () => {
  for (const method of METHODS) {
    const a = await send(iris.baseUrl, method, '/healthcheck');
    if (method === 'HEAD') {
      assert.equal(a.status, 204);
      assert.equal(a.headers['content-type'], undefined);
      assert.equal(a.headers['content-length'], '0');
      assert.equal(a.body, '');
    } else {
      assert.equal(a.status, 200, method);
      assert.equal(a.headers['content-type'], 'text/plain; charset=UTF-8', method);
      assert.equal(a.body, 'OK', method);
    }
    assert.equal(a.headers['x-openstack-request-id'], undefined);
  }
  // Leading slashes, a query, percent-encoding: still the health check; a trailing slash is not.
  for (const path of ['//healthcheck', '///healthcheck?x=1', '/%68ealthcheck']) {
    assert.equal((await send(iris.baseUrl, 'GET', path)).body, 'OK', path);
  }
  const slash = await send(iris.baseUrl, 'GET', '/healthcheck/');
  assert.equal(slash.status, 300);
});

test('healthcheck: body by Accept (plain text, HTML, JSON), as oslo.middleware picks it', async () => {
  const cases: [string, string][] = [
    ['*/*', 'text/plain; charset=UTF-8'],
    ['image/png', 'text/plain; charset=UTF-8'],
    ['text/html', 'text/html; charset=UTF-8'],
    ['text/html, application/json', 'text/html; charset=UTF-8'],
    ['application/json;q=0, text/html;q=0.1', 'text/html; charset=UTF-8'],
    ['text/*;q=0.5, application/json', 'application/json'],
    ['application/*', 'application/json'],
  ];
  for (const [accept, type] of cases) {
    const a = await send(iris.baseUrl, 'GET', '/healthcheck', { Accept: accept });
    assert.equal(a.headers['content-type'], type, accept);
  }
  const j = await send(iris.baseUrl, 'GET', '/healthcheck', { Accept: 'application/json' });
  assert.equal(j.body, '{\n    "detailed": false,\n    "reasons": [\n        "OK"\n    ]\n}');
  const h = await send(iris.baseUrl, 'GET', '/healthcheck', { Accept: 'text/html' });
  assert.equal(h.headers['content-length'], '239');
  assert.match(h.body, /^<HTML>\n<HEAD><TITLE>Healthcheck Status<\/TITLE><\/HEAD>\n[\s\S]*<TD>OK<\/TD>[\s\S]*<\/HTML>$/);
});

test('healthcheck: 503 DISABLED BY FILE while [healthcheck] disable_by_file_path exists', async (t) => {
  writeFileSync(disableFile, '');
  t.after(() => rmSync(disableFile, { force: true }));
  const get = await send(iris.baseUrl, 'GET', '/healthcheck');
  assert.equal(get.status, 503);
  assert.equal(get.body, 'DISABLED BY FILE');
  const head = await send(iris.baseUrl, 'HEAD', '/healthcheck');
  assert.equal(head.status, 503);
  assert.equal(head.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(head.headers['content-length'], '0');
  const json = await send(iris.baseUrl, 'GET', '/healthcheck', { Accept: 'application/json' });
  assert.equal(json.headers['content-length'], '76');
  assert.match(json.body, /"DISABLED BY FILE"/);
  rmSync(disableFile);
  assert.equal((await send(iris.baseUrl, 'GET', '/healthcheck')).status, 200);
});

test('/ answers the version list with 300 and /versions with 200 to every method; OPTIONS / is 200 empty', async () => {
  assert.match(versionsBody, /^\{"versions": \[\{"id": "v2.15", "status": "SUPPORTED"/);
  for (const method of METHODS) {
    const root = await send(iris.baseUrl, method, '/');
    const versions = await send(iris.baseUrl, method, '/versions');
    if (method === 'OPTIONS') {
      // The CORS filter turns the 300 into an empty 200 without Content-Type.
      assert.equal(root.status, 200);
      assert.equal(root.headers['content-type'], undefined);
      assert.equal(root.body, '');
    } else {
      assert.equal(root.status, 300, `${method} /`);
      assert.equal(root.headers['content-type'], 'application/json');
      assert.equal(root.headers['content-length'], String(Buffer.byteLength(versionsBody)));
      assert.equal(root.body, method === 'HEAD' ? '' : versionsBody);
    }
    assert.equal(versions.status, 200, `${method} /versions`);
    assert.equal(versions.headers['content-type'], 'application/json');
    assert.equal(versions.headers['content-length'], String(Buffer.byteLength(versionsBody)));
    assert.equal(versions.body, method === 'HEAD' ? '' : versionsBody);
    assert.equal(versions.headers['x-openstack-request-id'], undefined);
    assert.equal(versions.headers.allow, undefined);
  }
});

test('version negotiation: /versions/…, //versions → 200; unknown first segments → 300 without request id', async () => {
  for (const path of ['/versions/', '/versions/x/y', '//versions', '/%76ersions', '/versions?x=1']) {
    const a = await send(iris.baseUrl, 'POST', path);
    assert.equal(a.status, 200, path);
    assert.equal(a.body, versionsBody, path);
  }
  for (const path of ['/nonexistent', '/v3/images', '/v2.16/images', '/images']) {
    const a = await send(iris.baseUrl, 'DELETE', path);
    assert.equal(a.status, 300, path);
    assert.equal(a.body, versionsBody, path);
    assert.equal(a.headers['x-openstack-request-id'], undefined, path);
  }
});

test('version negotiation: a known version prefix, extra slashes and the media type reach /v2', async () => {
  const list = (await send(iris.baseUrl, 'GET', '/v2/images')).body;
  assert.match(list, /^\{"images": \[/);
  for (const path of ['//v2/images', '/v2//images', '///v2///images', '/v2.15/images', '/v2.0/images', '/v2.8/images', '/%762/images']) {
    const a = await send(iris.baseUrl, 'GET', path);
    assert.equal(a.status, 200, path);
    assert.equal(a.body, list, path);
    assert.match(String(a.headers['x-openstack-request-id']), /^req-/, path);
  }
  assert.equal((await send(iris.baseUrl, 'GET', '/v2/schemas//image')).status, 200);
  // v2.8 is listed only with multi-store, as in Glance.
  assert.equal((await send(plain.baseUrl, 'GET', '/v2.8/images')).status, 300);
  assert.equal((await send(plain.baseUrl, 'GET', '/v2.9/images')).status, 200);
  // Trailing slashes stay and find nothing.
  for (const path of ['/v2/images//', '/v2//', '/v2/schemas/image/']) {
    assert.equal((await send(iris.baseUrl, 'GET', path)).status, 404, path);
  }
  const redirect = await send(iris.baseUrl, 'GET', '/v2.9');
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, `${iris.baseUrl}/v2/`);
  const media = await send(iris.baseUrl, 'GET', '/images', { Accept: 'application/vnd.openstack.images-v2' });
  assert.equal(media.status, 200);
  assert.equal(media.body, list);
  const unknown = await send(iris.baseUrl, 'GET', '/v2/images', { Accept: 'application/vnd.openstack.images-v9' });
  assert.equal(unknown.status, 300);
});

test('OPTIONS anywhere is 200 (no Content-Type, no request id) unless the path answers it: /versions, /healthcheck', async () => {
  for (const path of ['/v2/images', '/v2', '/v2/', '/v2/schemas/image', '/nonexistent', '//v2/images']) {
    const a = await send(iris.baseUrl, 'OPTIONS', path);
    assert.equal(a.status, 200, path);
    assert.equal(a.body, '', path);
    assert.equal(a.headers['content-type'], undefined, path);
    assert.equal(a.headers['content-length'], '0', path);
    assert.equal(a.headers['x-openstack-request-id'], undefined, path);
    assert.deepEqual(corsOf(a), {}, path);
  }
  // Even an invalid identity: the filter replaces the 401.
  const denied = await send(iris.baseUrl, 'OPTIONS', '/v2/images', { 'X-Identity-Status': 'Invalid' });
  assert.equal(denied.status, 200);
  assert.equal((await send(iris.baseUrl, 'OPTIONS', '/versions')).body, versionsBody);
  assert.equal((await send(iris.baseUrl, 'OPTIONS', '/healthcheck')).body, 'OK');
});

test('CORS preflight from an allowed origin: 200 with the Access-Control-* headers, before authentication', async () => {
  for (const path of ['/v2/images', '/v2/images/abc', '/', '/nonexistent']) {
    for (const origin of [ALLOWED, OTHER_ALLOWED]) {
      const a = await send(iris.baseUrl, 'OPTIONS', path, { Origin: origin, 'Access-Control-Request-Method': 'GET', 'X-Identity-Status': 'Invalid' });
      assert.equal(a.status, 200, path);
      assert.equal(a.body, '');
      assert.deepEqual(corsOf(a), {
        vary: 'Origin',
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-max-age': '3600',
        'access-control-allow-methods': 'GET',
      }, `${path} ${origin}`);
    }
  }
  const withHeaders = await send(iris.baseUrl, 'OPTIONS', '/v2/images', {
    Origin: ALLOWED, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-auth-token, content-type',
  });
  assert.equal(withHeaders.headers['access-control-allow-methods'], 'POST');
  assert.equal(withHeaders.headers['access-control-allow-headers'], 'x-auth-token,content-type');
  const onVersions = await send(iris.baseUrl, 'OPTIONS', '/versions', { Origin: ALLOWED, 'Access-Control-Request-Method': 'GET' });
  assert.equal(onVersions.body, versionsBody);
  assert.equal(onVersions.headers['access-control-allow-origin'], ALLOWED);
});

test('CORS preflight refused: unknown origin, no or unlisted method, an unlisted header → 200 without CORS headers', async () => {
  const refused: Record<string, string>[] = [
    { Origin: STRANGER, 'Access-Control-Request-Method': 'GET' },
    { Origin: '', 'Access-Control-Request-Method': 'GET' },
    { Origin: ALLOWED },
    { Origin: ALLOWED, 'Access-Control-Request-Method': 'HEAD' },
    { Origin: ALLOWED, 'Access-Control-Request-Method': 'OPTIONS' },
    { Origin: ALLOWED, 'Access-Control-Request-Method': 'get' },
    { Origin: ALLOWED, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'X-Auth-Token,X-Bogus' },
  ];
  for (const headers of refused) {
    const a = await send(iris.baseUrl, 'OPTIONS', '/v2/images', headers);
    assert.equal(a.status, 200, JSON.stringify(headers));
    assert.deepEqual(corsOf(a), {}, JSON.stringify(headers));
  }
});

test('CORS on actual requests: allowed origins get Allow-Origin, -Credentials, -Expose-Headers, Vary on any status', async () => {
  const expected = (origin: string) => ({
    vary: 'Origin',
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': EXPOSE,
  });
  const answers = [
    await send(iris.baseUrl, 'GET', '/v2/images', { Origin: ALLOWED }),
    await send(iris.baseUrl, 'GET', '/versions', { Origin: ALLOWED }),
    await send(iris.baseUrl, 'GET', '/', { Origin: ALLOWED }),
    await send(iris.baseUrl, 'HEAD', '/healthcheck', { Origin: ALLOWED }),
    await send(iris.baseUrl, 'GET', '/v2/images', { Origin: ALLOWED, 'X-Identity-Status': 'Invalid' }),
    await send(iris.baseUrl, 'GET', '/v2/images/00000000-0000-0000-0000-000000000000', { Origin: ALLOWED }),
    await send(iris.baseUrl, 'DELETE', '/v2/images', { Origin: ALLOWED }),
    await send(iris.baseUrl, 'POST', '/v2/images', { Origin: ALLOWED, 'Content-Type': 'application/json' }, '{"name": 1}'),
  ];
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 300, 204, 401, 404, 405, 400]);
  for (const a of answers) assert.deepEqual(corsOf(a), expected(ALLOWED));
  for (const path of ['/v2/images', '/versions', '/healthcheck']) {
    assert.deepEqual(corsOf(await send(iris.baseUrl, 'GET', path, { Origin: STRANGER })), {}, path);
    assert.deepEqual(corsOf(await send(iris.baseUrl, 'GET', path)), {}, path);
  }
});

test('CORS off (no allowed_origin, the default): no CORS headers, OPTIONS still 200', async () => {
  const get = await send(plain.baseUrl, 'GET', '/v2/images', { Origin: ALLOWED });
  assert.equal(get.status, 200);
  assert.deepEqual(corsOf(get), {});
  const pre = await send(plain.baseUrl, 'OPTIONS', '/v2/images', { Origin: ALLOWED, 'Access-Control-Request-Method': 'GET' });
  assert.equal(pre.status, 200);
  assert.deepEqual(corsOf(pre), {});
});

test('a refused upload says what was received: 0 bytes, or N bytes of no known format (the curl -d hint)', async () => {
  const create = async () => {
    const a = await send(iris.baseUrl, 'POST', '/v2/images', { 'Content-Type': 'application/json' }, '{"name": "x", "disk_format": "qcow2", "container_format": "bare"}');
    return (JSON.parse(a.body) as { id: string }).id;
  };
  const put = async (id: string, data: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const url = new URL(iris.baseUrl);
      const req = request(
        { host: url.hostname, port: url.port, method: 'PUT', path: `/v2/images/${id}/file`, headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json', 'Content-Length': String(data.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  const empty = await put(await create(), Buffer.alloc(0));
  assert.equal(empty.status, 400);
  assert.match(JSON.parse(empty.body).message, /received 0 bytes\. The request carried no image data/);
  // Bytes of no known format, as a mangled upload arrives.
  const mangled = Buffer.alloc(1000, 0x41);
  const refused = await put(await create(), mangled);
  assert.equal(refused.status, 400);
  assert.match(JSON.parse(refused.body).message, new RegExp(`which is raw \\(no known image format\\) \\(received ${mangled.length} bytes\\); if you uploaded with curl -d, use --data-binary @file or -T file`));
});

test('methods beyond the usual seven: 405 with Allow on /v2 routes, the version list or OK elsewhere; /v2 redirects any', async () => {
  for (const method of ['TRACE', 'PROPFIND', 'LOCK', 'M-SEARCH']) {
    const a = await send(iris.baseUrl, method, '/v2/images');
    assert.equal(a.status, 405, method);
    assert.equal(a.headers.allow, 'GET, POST', method);
    assert.match(a.body, new RegExp(`The method ${method} is not allowed for this resource`), method);
    assert.equal((await send(iris.baseUrl, method, '/versions')).status, 200, method);
    assert.equal((await send(iris.baseUrl, method, '/')).status, 300, method);
    assert.equal((await send(iris.baseUrl, method, '/healthcheck')).body, 'OK', method);
  }
  for (const method of [...METHODS.filter((m) => m !== 'OPTIONS'), 'PURGE']) {
    const a = await send(iris.baseUrl, method, '/v2');
    assert.equal(a.status, 302, method);
    assert.equal(a.headers.location, `${iris.baseUrl}/v2/`, method);
  }
  // Still behind authentication, as everything under /v2.
  assert.equal((await send(iris.baseUrl, 'POST', '/v2', { 'X-Identity-Status': 'Invalid' })).status, 401);
});
