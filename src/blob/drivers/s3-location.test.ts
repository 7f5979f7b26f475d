import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatS3Location, parseS3Location } from './s3-location.js';
import { Invalid } from '../../domain/errors.js';

const id = '6a4d4a38-8f5b-4c3e-9d1a-2b7c0f1e9a55';

test('s3 location: Iris writes Glance\'s form without credentials, s3+https for https', () => {
  assert.equal(formatS3Location({ protocol: 'http', service: '127.0.0.1:8080', bucket: 'glance', key: id }), `s3://127.0.0.1:8080/glance/${id}`);
  assert.equal(formatS3Location({ protocol: 'https', service: 's3.example.com', bucket: 'b', key: id }), `s3+https://s3.example.com/b/${id}`);
});

test('s3 location: Glance\'s form with credentials, colons in the access key and odd secrets', () => {
  for (const [creds, why] of [
    ['AKIA:SECRET@', 'plain keys'],
    ['test:tester:testing@', 'tempauth account:user key (Glance splits it wrongly)'],
    ['AKIA:se/cr+et@', 'a slash in the secret (AWS secrets may have one)'],
    ['AKIA:p@ss@', 'an @ in the secret'],
    ['', 'no credentials (Iris\'s own form)'],
  ] as const) {
    const loc = parseS3Location(`s3://${creds}127.0.0.1:8080/glance/${id}`);
    assert.deepEqual(
      loc,
      { protocol: 'http', service: '127.0.0.1:8080', bucket: 'glance', key: id, hadCredentials: creds !== '' },
      why,
    );
  }
});

test('s3 location: schemes, a service with a path prefix, stray slashes', () => {
  assert.equal(parseS3Location(`s3+https://k:s@h/b/${id}`).protocol, 'https');
  assert.equal(parseS3Location(`s3+http://h/b/${id}`).protocol, 'http');
  assert.equal(parseS3Location(`S3://h/b/${id}`).protocol, 'http');
  assert.deepEqual(parseS3Location(`s3://k:s@h:9000/prefix/b/${id}/`), {
    protocol: 'http',
    service: 'h:9000/prefix',
    bucket: 'b',
    key: id,
    hadCredentials: true,
  });
});

test('s3 location: malformed locations are Invalid and the message never echoes the location', () => {
  for (const bad of [
    'swift://h/b/k',
    'file:///etc/passwd',
    's3:/h/b/k',
    's3://k:s@https://h/b/k',
    's3://h/k',
    's3://k:secret-123@h/b',
    's3://h//k',
    's3://',
  ]) {
    assert.throws(() => parseS3Location(bad), (err: unknown) => {
      assert.ok(err instanceof Invalid, bad);
      assert.ok(!err.message.includes('secret-123'), 'no secret in the message');
      return true;
    });
  }
});
