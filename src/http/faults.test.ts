import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conflict, Forbidden, Gone, NotFound, RangeNotSatisfiable, ServiceUnavailable } from '../domain/errors.js';
import { faultFor, methodNotAllowed, negotiateFaultFormat, renderFault, unsupportedMediaType } from './faults.js';

test('negotiation follows webob: no Accept → plain, */* → html, json when preferred', () => {
  assert.equal(negotiateFaultFormat(undefined), 'text/plain');
  assert.equal(negotiateFaultFormat(''), 'text/plain');
  assert.equal(negotiateFaultFormat('*/*'), 'text/html');
  assert.equal(negotiateFaultFormat('application/json'), 'application/json');
  assert.equal(negotiateFaultFormat('application/json, */*;q=0.5'), 'application/json');
  assert.equal(negotiateFaultFormat('text/html;q=0.1, application/json'), 'application/json');
  assert.equal(negotiateFaultFormat('image/png'), 'text/plain');
});

test('plain bodies are byte-identical to webob pages', () => {
  const nf = renderFault(faultFor(new NotFound('No image found with ID x')), undefined);
  assert.equal(nf.status, 404);
  assert.equal(nf.body, '404 Not Found\n\nNo image found with ID x\n\n   ');
  const generic = renderFault({ status: 404 }, undefined);
  assert.equal(generic.body, '404 Not Found\n\nThe resource could not be found.\n\n   ');
  const m = renderFault(methodNotAllowed('PUT', ['GET', 'PATCH']), undefined);
  assert.equal(m.body, '405 Method Not Allowed\n\nThe method PUT is not allowed for this resource. \n\n ');
  assert.equal(m.headers.Allow, 'GET, PATCH');
  const u = renderFault(unsupportedMediaType('application/json'), undefined);
  assert.equal(u.body, '415 Unsupported Media Type\n\nThe request media type application/json is not supported by this server. \n\n ');
});

test('json bodies carry message, code and title', () => {
  const r = renderFault(faultFor(new Conflict('busy')), 'application/json');
  assert.equal(r.contentType, 'application/json');
  assert.deepEqual(JSON.parse(r.body), { message: 'busy<br /><br />\n\n\n', code: '409 Conflict', title: 'Conflict' });
});

test('status mapping, 416 with Content-Range, unknown errors are 500 without details', () => {
  assert.equal(faultFor(new Forbidden('no')).status, 403);
  const r = faultFor(new RangeNotSatisfiable('bad start', 10));
  assert.equal(r.status, 416);
  assert.equal(r.headers?.['Content-Range'], 'bytes */10');
  const boom = renderFault(faultFor(new Error('secret path /etc')), 'application/json');
  assert.equal(boom.status, 500);
  assert.doesNotMatch(boom.body, /secret/);
});

test('Gone is 410 and a full database 503, each with its own explanation', () => {
  const gone = renderFault(faultFor(new Gone('Image x could not be found after upload.')), undefined);
  assert.equal(gone.status, 410);
  assert.equal(gone.body, '410 Gone\n\nImage x could not be found after upload.\n\n   ');
  assert.equal(renderFault({ status: 410 }, 'application/json').body.includes('"title": "Gone"'), true);
  const full = renderFault(faultFor(new ServiceUnavailable('The image database is full.')), undefined);
  assert.equal(full.status, 503);
  assert.equal(full.body, '503 Service Unavailable\n\nThe image database is full.\n\n   ');
});
