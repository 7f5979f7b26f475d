import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultText } from './fault-message.js';

test("Glance's JSON fault: the webob padding goes, the title stays", () => {
  const body = '{"message": "No image found with ID x<br /><br />\\n\\n\\n", "code": "404 Not Found", "title": "Not Found"}';
  assert.deepEqual(faultText(body, 404), { message: 'No image found with ID x', title: 'Not Found' });
});

test("Keystone's nested error", () => {
  const body = '{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}';
  assert.deepEqual(faultText(body, 401), { message: 'The request you have made requires authentication.', title: 'Unauthorized' });
});

test('webob text and HTML pages lose their status line', () => {
  assert.equal(faultText('404 Not Found\n\nThe resource could not be found.\n\n   ', 404, 'Not Found').message, 'The resource could not be found.');
  const html = '<html><head><title>409 Conflict</title></head><body><h1>409 Conflict</h1>Busy &amp; locked<br /><br />\n</body></html>';
  assert.equal(faultText(html, 409).message, 'Busy & locked');
});

test('an empty body falls back to the status text', () => {
  assert.equal(faultText('', 503, 'Service Unavailable').message, 'Service Unavailable');
});
