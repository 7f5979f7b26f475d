import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionOptions } from './connection-options.js';

test('token + image URL skip Keystone even with OS_AUTH_URL set (as glanceclient)', () => {
  const o = connectionOptions({}, { OS_IMAGE_URL: 'http://i', OS_AUTH_TOKEN: 't', OS_AUTH_URL: 'http://ks', OS_USERNAME: 'u' });
  assert.deepEqual(o, { endpoint: 'http://i', auth: { type: 'token', token: 't' }, timeoutMs: undefined });
});

test('flags win over the environment', () => {
  const o = connectionOptions({ osImageUrl: 'http://flag', timeout: 5 }, { OS_IMAGE_URL: 'http://env' });
  assert.deepEqual(o, { endpoint: 'http://flag', auth: { type: 'none' }, timeoutMs: 5000 });
});

test('Keystone password credentials from the environment', () => {
  const o = connectionOptions({}, {
    OS_AUTH_URL: 'http://ks/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 'demo',
    OS_USER_DOMAIN_NAME: 'D1', OS_PROJECT_DOMAIN_NAME: 'D2', OS_REGION_NAME: 'R', OS_INTERFACE: 'internalURL',
  });
  assert.equal(o.endpoint, undefined);
  assert.deepEqual(o.auth, {
    type: 'password', authUrl: 'http://ks/v3', username: 'u', userId: undefined, password: 'p',
    userDomainName: 'D1', userDomainId: undefined, projectName: 'demo', projectId: undefined,
    projectDomainName: 'D2', projectDomainId: undefined, region: 'R', interface: 'internal',
  });
});

test('nothing to connect to, or a token without an endpoint, is an error', () => {
  assert.throws(() => connectionOptions({}, {}), /No image endpoint/);
  assert.throws(() => connectionOptions({}, { OS_AUTH_TOKEN: 't' }), /needs an image endpoint/);
  assert.throws(() => connectionOptions({}, { OS_AUTH_URL: 'x', OS_USERNAME: 'u' }), /needs a password/);
});
