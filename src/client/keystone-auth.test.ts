import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findImageEndpoint, passwordRequestBody, tokensUrl } from './keystone-auth.js';

test('the tokens URL with or without /v3', () => {
  assert.equal(tokensUrl('http://ks:5000'), 'http://ks:5000/v3/auth/tokens');
  assert.equal(tokensUrl('http://ks:5000/v3/'), 'http://ks:5000/v3/auth/tokens');
  assert.equal(tokensUrl('http://ks/identity/v3'), 'http://ks/identity/v3/auth/tokens');
});

test('password request: names with Default domains, project scope', () => {
  assert.deepEqual(passwordRequestBody({ type: 'password', authUrl: 'x', username: 'u', password: 'p', projectName: 'demo' }), {
    auth: {
      identity: { methods: ['password'], password: { user: { password: 'p', name: 'u', domain: { name: 'Default' } } } },
      scope: { project: { name: 'demo', domain: { name: 'Default' } } },
    },
  });
});

test('catalog lookup by type, interface and region', () => {
  const catalog = [
    { type: 'identity', endpoints: [{ interface: 'public', region_id: 'R1', url: 'http://ks' }] },
    {
      type: 'image',
      endpoints: [
        { interface: 'internal', region_id: 'R1', url: 'http://internal' },
        { interface: 'public', region_id: 'R1', url: 'http://r1' },
        { interface: 'public', region_id: 'R2', url: 'http://r2' },
      ],
    },
  ];
  assert.equal(findImageEndpoint(catalog, 'public'), 'http://r1');
  assert.equal(findImageEndpoint(catalog, 'public', 'R2'), 'http://r2');
  assert.equal(findImageEndpoint(catalog, 'internal'), 'http://internal');
  assert.throws(() => findImageEndpoint(catalog, 'admin'), /No image endpoint with interface 'admin'/);
});
