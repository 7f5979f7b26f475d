// Locations in glance_store's form: the examples of its StoreLocation, built and parsed back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Invalid } from '../../domain/errors.js';
import { inlineLocation, parseSwiftLocation, pyQuote, referenceLocation } from './swift-location.js';

test('credentials are quoted as urllib.parse.quote does (slash kept, colon and @ escaped)', () => {
  assert.equal(pyQuote('test:tester'), 'test%3Atester');
  assert.equal(pyQuote("a b!'()*@~_.-/"), "a%20b%21%27%28%29%2A%40~_.-/");
});

test('an inline location is built as Glance builds it and parses back', () => {
  const uri = inlineLocation('http://127.0.0.1:8080/auth/v1.0/', 'test:tester', 'p@ss:w', 'glance', 'abc');
  assert.equal(uri, 'swift+http://test%3Atester:p%40ss%3Aw@127.0.0.1:8080/auth/v1.0/glance/abc');
  assert.deepEqual(parseSwiftLocation(uri), {
    kind: 'inline',
    scheme: 'swift+http',
    authAddress: 'http://127.0.0.1:8080/auth/v1.0',
    user: 'test:tester',
    key: 'p@ss:w',
    container: 'glance',
    object: 'abc',
  });
  assert.equal(inlineLocation('https://keystone:5000/v3', 'svc:glance', 'k', 'c', 'o'), 'swift+https://svc%3Aglance:k@keystone:5000/v3/c/o');
});

test("Glance's documented forms parse: swift://, account:user:pass, swift+config", () => {
  const plain = parseSwiftLocation('swift://account:user:pass@authurl.com/container/obj-id');
  assert.equal(plain.kind, 'inline');
  if (plain.kind === 'inline') {
    // The key is what follows the last colon; the user keeps the rest.
    assert.equal(plain.user, 'account:user');
    assert.equal(plain.key, 'pass');
    assert.equal(plain.authAddress, 'https://authurl.com');
  }
  assert.deepEqual(parseSwiftLocation(referenceLocation('ref1', 'glance', 'id')), {
    kind: 'reference',
    scheme: 'swift+config',
    reference: 'ref1',
    container: 'glance',
    object: 'id',
  });
  const noCreds = parseSwiftLocation('swift+https://example.com/v1/AUTH_x/container/obj');
  assert.equal(noCreds.kind === 'inline' && noCreds.user, undefined);
  assert.equal(noCreds.kind === 'inline' && noCreds.authAddress, 'https://example.com/v1/AUTH_x');
});

test('other schemes and malformed URIs are Invalid (Glance: BadStoreUri)', () => {
  for (const uri of [
    'file:///var/lib/glance/images/x',
    's3://a:b@host/bucket/x',
    'swift://user:pass@http://authurl.com/v1/container/obj',
    'swift+http://user@host/c/o',
    'swift+http://u:k@host/o',
    'swift+config://ref1/o',
    'swift+config://ref1/a/b/c',
  ]) {
    assert.throws(() => parseSwiftLocation(uri), Invalid, uri);
  }
});
