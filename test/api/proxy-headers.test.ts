/**
 * `[oslo_middleware] enable_proxy_headers_parsing` (Glance's http_proxy_to_wsgi): off by default,
 * so a client cannot choose the links Iris returns; on, the version list and Location headers
 * follow `Forwarded`, else `X-Forwarded-Proto` / `X-Forwarded-Host`; `public_endpoint` wins
 * over both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describe, json } from '../helpers/http.js';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

const PROXIED = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'images.example.com:8443' };

let plain: IrisProcess;
let parsing: IrisProcess;
let fixed: IrisProcess;
before(async () => {
  [plain, parsing, fixed] = await Promise.all([
    startIris(),
    startIris({ env: { IRIS__OSLO_MIDDLEWARE__ENABLE_PROXY_HEADERS_PARSING: 'true' } }),
    startIris({ env: { IRIS__OSLO_MIDDLEWARE__ENABLE_PROXY_HEADERS_PARSING: 'true', IRIS__DEFAULT__PUBLIC_ENDPOINT: 'https://public.example.com/' } }),
  ]);
});
after(() => Promise.all([plain?.stop(), parsing?.stop(), fixed?.stop()]));

async function links(iris: IrisProcess, headers: Record<string, string>): Promise<{ version: string; location: string }> {
  const versions = await json('GET', `${iris.baseUrl}/versions`, undefined, headers);
  assert.equal(versions.status, 200, describe(versions));
  const created = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'proxied' }, headers);
  assert.equal(created.status, 201, describe(created));
  const version = (versions.body.versions as { links: { href: string }[] }[])[0]!.links[0]!.href;
  const location = created.headers.get('location') ?? '';
  assert.equal(location.replace(`/images/${created.body.id}`, '/'), version, 'Location and version links agree');
  return { version, location };
}

test('off (the default): proxy headers from the client change nothing', async () => {
  assert.equal((await links(plain, PROXIED)).version, `${plain.baseUrl}/v2/`);
  assert.equal((await links(plain, { forwarded: 'proto=https;host=x.example' })).version, `${plain.baseUrl}/v2/`);
});

test('on: X-Forwarded-Proto / X-Forwarded-Host, and Forwarded over them', async () => {
  assert.equal((await links(parsing, PROXIED)).version, 'https://images.example.com:8443/v2/');
  assert.equal((await links(parsing, { ...PROXIED, forwarded: 'for=192.0.2.1;proto=http;host=lb.example' })).version, 'http://lb.example/v2/');
  assert.equal((await links(parsing, { 'x-forwarded-proto': 'https' })).version, `${parsing.baseUrl.replace('http:', 'https:')}/v2/`);
  assert.equal((await links(parsing, {})).version, `${parsing.baseUrl}/v2/`);
});

test('public_endpoint wins over proxy headers', async () => {
  assert.equal((await links(fixed, PROXIED)).version, 'https://public.example.com/v2/');
});
