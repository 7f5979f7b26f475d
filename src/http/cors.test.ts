import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actualRequestHeaders, preflightHeaders, type CorsOptions } from './cors.js';

const GLANCE: CorsOptions = {
  allowed_origin: ['https://a.example'],
  allow_credentials: true,
  expose_headers: ['X-Image-Meta-Checksum', 'X-OpenStack-Request-ID'],
  max_age: 3600,
  allow_methods: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'],
  allow_headers: ['X-Auth-Token', 'X-Roles'],
};

test('preflight: requested method and headers echoed; simple headers always allowed, case-insensitively', () => {
  assert.deepEqual(preflightHeaders(GLANCE, { origin: 'https://a.example', method: 'PATCH', requestHeaders: 'x-auth-token, Content-Type,,' }), {
    vary: 'Origin',
    'access-control-allow-origin': 'https://a.example',
    'access-control-allow-credentials': 'true',
    'access-control-max-age': '3600',
    'access-control-allow-methods': 'PATCH',
    'access-control-allow-headers': 'x-auth-token,Content-Type',
  });
});

test('preflight refused: other origin, no method, method case differs, header not allowed', () => {
  assert.deepEqual(preflightHeaders(GLANCE, { origin: 'https://b.example', method: 'GET' }), {});
  assert.deepEqual(preflightHeaders(GLANCE, { origin: 'https://a.example' }), {});
  assert.deepEqual(preflightHeaders(GLANCE, { origin: 'https://a.example', method: 'get' }), {});
  assert.deepEqual(preflightHeaders(GLANCE, { origin: 'https://a.example', method: 'GET', requestHeaders: 'X-Bogus' }), {});
  assert.deepEqual(preflightHeaders({ ...GLANCE, allowed_origin: [] }, { origin: 'https://a.example', method: 'GET' }), {});
});

test('`*` allows any origin and is what Allow-Origin says; no credentials or max-age when turned off', () => {
  const star = { ...GLANCE, allowed_origin: ['*'], allow_credentials: false, max_age: 0 };
  assert.deepEqual(preflightHeaders(star, { origin: 'https://z.example', method: 'GET' }), {
    vary: 'Origin',
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET',
  });
  assert.deepEqual(actualRequestHeaders(star, 'https://z.example'), {
    vary: 'Origin',
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'X-Image-Meta-Checksum,X-OpenStack-Request-ID',
  });
});

test('actual request: headers only for an allowed origin; no expose header when the list is empty', () => {
  assert.deepEqual(actualRequestHeaders(GLANCE, undefined), {});
  assert.deepEqual(actualRequestHeaders(GLANCE, 'https://b.example'), {});
  assert.deepEqual(actualRequestHeaders({ ...GLANCE, expose_headers: [] }, 'https://a.example'), {
    vary: 'Origin',
    'access-control-allow-origin': 'https://a.example',
    'access-control-allow-credentials': 'true',
  });
});
