import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_IMPORT_FILTER, filterDeniesAddress, validateImportUri } from './uri-filter.js';
import type { ImportFilterOptions } from './uri-filter.js';

// Nothing configured at all: every list empty.
const OPEN: ImportFilterOptions = {
  allowedSchemes: [],
  disallowedSchemes: [],
  allowedHosts: [],
  disallowedHosts: [],
  allowedPorts: [],
  disallowedPorts: [],
};

function passes(uri: string, overrides: Partial<ImportFilterOptions> = {}): boolean {
  return validateImportUri(uri, { ...DEFAULT_IMPORT_FILTER, ...overrides });
}

test('defaults: http and https to any host, explicit ports 80 and 443 only', () => {
  assert.deepEqual(DEFAULT_IMPORT_FILTER, {
    allowedSchemes: ['http', 'https'],
    disallowedSchemes: [],
    allowedHosts: [],
    disallowedHosts: [],
    allowedPorts: [80, 443],
    disallowedPorts: [],
  });
  assert.ok(Object.isFrozen(DEFAULT_IMPORT_FILTER));
  assert.equal(passes('http://images.example/jammy.img'), true);
  assert.equal(passes('https://images.example/jammy.img?x=1#frag'), true);
  assert.equal(passes('http://images.example:80/a'), true);
  assert.equal(passes('https://images.example:443/a'), true);
  assert.equal(passes('http://images.example:8080/a'), false);
  assert.equal(passes('ftp://images.example/a'), false);
});

test('not a URI, no authority, or no host: refused', () => {
  assert.equal(passes(''), false);
  assert.equal(passes('fake_uri'), false);
  assert.equal(passes('http://'), false);
  assert.equal(passes('http:images.example/a'), false); // WHATWG would find a host; urlparse does not
  assert.equal(passes('http:/images.example/a'), false);
  assert.equal(passes('file:///etc/passwd', { allowedSchemes: ['file'] }), false);
  assert.equal(passes('http://exa mple/'), false);
  assert.equal(passes('http://h:99999/'), false);
});

test('schemes: the allow list decides, case-insensitively', () => {
  assert.equal(passes('HTTP://images.example/a'), true);
  assert.equal(passes('https://images.example/a', { allowedSchemes: ['http'] }), false);
  assert.equal(passes('ftp://images.example/a', { allowedSchemes: ['FTP'] }), true);
});

test('schemes: the deny list applies only while the allow list is empty (Glance ignores it otherwise)', () => {
  assert.equal(passes('ftp://images.example/a', { allowedSchemes: [], disallowedSchemes: ['ftp'] }), false);
  assert.equal(passes('gopher://images.example/a', { allowedSchemes: [], disallowedSchemes: ['ftp'] }), true);
  assert.equal(passes('ftp://images.example/a', { allowedSchemes: ['https', 'ftp'], disallowedSchemes: ['ftp'] }), true);
});

test('hosts: the allow list decides; the deny list is then ignored', () => {
  const allowed = { allowedHosts: ['example.com', 'foo.com'], disallowedHosts: ['foo.com'] };
  assert.equal(passes('http://example.com/a', allowed), true);
  assert.equal(passes('http://foo.com/a', allowed), true);
  assert.equal(passes('http://bar.com/a', allowed), false);
});

test('hosts: the deny list refuses its hosts only', () => {
  const denied = { disallowedHosts: ['foo.com', '10.1.2.3'] };
  assert.equal(passes('http://foo.com/a', denied), false);
  assert.equal(passes('http://10.1.2.3/a', denied), false);
  assert.equal(passes('http://sub.foo.com/a', denied), true);
  assert.equal(passes('http://example.com/a', denied), true);
});

test('hosts: compared in one spelling (case, trailing dot, IPv6 form, userinfo ignored)', () => {
  const denied = { disallowedHosts: ['Foo.COM', '::FFFF:127.0.0.1', '[2001:db8::1]'] };
  assert.equal(passes('http://FOO.com/a', denied), false);
  assert.equal(passes('http://foo.com./a', denied), false); // Glance's raw comparison misses this
  assert.equal(passes('http://[::ffff:7f00:1]/a', denied), false);
  assert.equal(passes('http://[2001:0db8:0:0::1]/a', denied), false);
  assert.equal(passes('http://user:pw@foo.com/a', denied), false);
  assert.equal(passes('http://foo.com@example.com/a', denied), true); // the host is example.com
  assert.equal(passes('http://foo.com\\@example.com/a', denied), false); // WHATWG: host foo.com
  assert.equal(passes('http://fo%6F.com/a', denied), false); // percent-decoded like the fetcher
  assert.equal(passes('http://[2001:db8::1]/a', { allowedHosts: ['2001:db8::1'] }), true);
});

test('hosts: IPv4 spelled other than dotted-quad is refused, as Glance refuses it', () => {
  for (const uri of [
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.1/',
    'http://127.1/',
    'http://10.1/',
    'http://192.168.1/',
    'http://0177.0.0.1/',
    'http://127.0.0.01/',
    'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/',
  ]) {
    assert.equal(passes(uri), false, uri);
  }
  // Even when the address it stands for is on the allow list.
  assert.equal(passes('http://2130706433:80/', { allowedHosts: ['127.0.0.1'] }), false);
  assert.equal(passes('http://127.0.0.1:80/', { allowedHosts: ['127.0.0.1'] }), true);
  // Host names that merely start with digits or 0x are names, not numbers.
  assert.equal(passes('http://3m.com/'), true);
  assert.equal(passes('http://0xdeadbeef.com/'), true);
});

test('ports: the allow list decides; the deny list is then ignored', () => {
  const both = { allowedPorts: [8080, 8484], disallowedPorts: [8484] };
  assert.equal(passes('http://example.com:8484/a', both), true);
  assert.equal(passes('http://example.com:8080/a', both), true);
  assert.equal(passes('http://example.com:9090/a', both), false);
});

test('ports: the deny list refuses its ports while the allow list is empty', () => {
  const denied = { allowedPorts: [], disallowedPorts: [8484, 80] };
  assert.equal(passes('http://example.com:8484/a', denied), false);
  assert.equal(passes('http://example.com:8485/a', denied), true);
  assert.equal(passes('http://example.com:80/a', denied), false); // explicit, though it is http's default
  assert.equal(passes('http://example.com:0080/a', denied), false);
});

test('ports: a URI without a port is not port-filtered (Glance checks only an explicit port)', () => {
  assert.equal(passes('http://example.com/a', { allowedPorts: [8080] }), true);
  assert.equal(passes('https://example.com/a', { allowedPorts: [8080] }), true);
  assert.equal(passes('http://example.com/a', { allowedPorts: [], disallowedPorts: [80] }), true);
  assert.equal(passes('http://example.com:/a', { allowedPorts: [8080] }), true); // empty port = none
  assert.equal(passes('http://[2001:db8::1]:8080/a', { allowedPorts: [8080] }), true);
  assert.equal(passes('http://[2001:db8::1]:8081/a', { allowedPorts: [8080] }), false);
});

test('every list empty: anything with a scheme and a host passes', () => {
  assert.equal(validateImportUri('gopher://example.com:70/a', OPEN), true);
  assert.equal(validateImportUri('http://localhost:8484/a', OPEN), true);
  assert.equal(validateImportUri('fake_uri', OPEN), false);
});

test('filters apply in order and all must pass', () => {
  const opts = { allowedSchemes: ['https'], allowedHosts: ['example.com'], allowedPorts: [8443] };
  assert.equal(passes('https://example.com:8443/a', opts), true);
  assert.equal(passes('http://example.com:8443/a', opts), false);
  assert.equal(passes('https://other.com:8443/a', opts), false);
  assert.equal(passes('https://example.com:443/a', opts), false);
});

test('filterDeniesAddress: disallowed_hosts IPs also refuse resolved addresses', () => {
  const opts = { ...DEFAULT_IMPORT_FILTER, disallowedHosts: ['93.184.216.34', 'foo.com', '2001:DB8::1'] };
  assert.equal(filterDeniesAddress('93.184.216.34', opts), true);
  assert.equal(filterDeniesAddress('2001:db8:0::1', opts), true);
  assert.equal(filterDeniesAddress('93.184.216.35', opts), false);
  assert.equal(filterDeniesAddress('foo.com', opts), false); // names are not addresses
  // Ignored while allowed_hosts is set, like the host deny list.
  assert.equal(filterDeniesAddress('93.184.216.34', { ...opts, allowedHosts: ['example.com'] }), false);
});
