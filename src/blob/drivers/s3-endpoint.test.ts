import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressingStyle, isDnsCompatibleBucket, resolveS3Endpoint } from './s3-endpoint.js';
import { Invalid } from '../../domain/errors.js';

test('s3 endpoint: s3_store_host with or without a scheme (http by default, as Glance)', () => {
  const plain = resolveS3Endpoint({ host: '127.0.0.1:8080', bucket: 'glance', urlFormat: 'auto' });
  assert.deepEqual(
    { protocol: plain.protocol, service: plain.service, url: plain.url, region: plain.region },
    { protocol: 'http', service: '127.0.0.1:8080', url: 'http://127.0.0.1:8080', region: 'us-east-1' },
  );
  const https = resolveS3Endpoint({ host: 'HTTPS://s3.example.com/', bucket: 'glance', urlFormat: 'auto' });
  assert.equal(https.protocol, 'https');
  assert.equal(https.service, 's3.example.com');
  assert.equal(https.url, 'https://s3.example.com');
  assert.equal(resolveS3Endpoint({ host: 'http://h:9000/s3/', bucket: 'glance', urlFormat: 'auto' }).service, 'h:9000/s3');
});

test('s3 endpoint: unusable hosts are Invalid', () => {
  for (const host of ['', 'http://', 'http://user:pw@h', 'http://h/?x=1', 'http://h:notaport']) {
    assert.throws(() => resolveS3Endpoint({ host, bucket: 'glance', urlFormat: 'auto' }), Invalid, host);
  }
});

test('s3 endpoint: region from Glance\'s AWS host table, s3_store_region_name wins, else us-east-1', () => {
  const aws = resolveS3Endpoint({ host: 'https://s3-eu-west-1.amazonaws.com', bucket: 'glance', urlFormat: 'auto' });
  assert.equal(aws.region, 'eu-west-1');
  assert.equal(aws.locationConstraint, 'eu-west-1');
  // Glance keeps s3.amazonaws.com out of its table: no LocationConstraint.
  const global = resolveS3Endpoint({ host: 's3.amazonaws.com', bucket: 'glance', urlFormat: 'auto' });
  assert.equal(global.region, 'us-east-1');
  assert.equal(global.locationConstraint, undefined);
  const named = resolveS3Endpoint({ host: 'minio:9000', bucket: 'glance', urlFormat: 'auto', regionName: 'eu-central-2' });
  assert.equal(named.region, 'eu-central-2');
  assert.equal(named.locationConstraint, 'eu-central-2');
  assert.equal(resolveS3Endpoint({ host: 'h', bucket: 'glance', urlFormat: 'auto', regionName: 'us-east-1' }).locationConstraint, undefined);
});

test('s3 addressing: path, virtual and auto as botocore decides them for Glance', () => {
  assert.equal(addressingStyle('path', 'glance', true), 'path');
  assert.equal(addressingStyle('path', 'Not_DNS', false), 'path');
  assert.equal(addressingStyle('virtual', 'glance', false), 'virtual');
  assert.throws(() => addressingStyle('virtual', 'my.bucket', false), Invalid);
  assert.throws(() => addressingStyle('virtual', 'Glance', true), Invalid);
  // auto: an explicit endpoint (every host but AWS's regional ones) means path style…
  assert.equal(addressingStyle('auto', 'glance', false), 'path');
  // …and on an AWS regional host, virtual when the bucket is a DNS label.
  assert.equal(addressingStyle('auto', 'glance', true), 'virtual');
  assert.equal(addressingStyle('auto', 'my.bucket', true), 'path');
  assert.throws(() => addressingStyle('sideways' as never, 'glance', true), Invalid);
  // Through the endpoint: the host decides what auto means.
  assert.equal(resolveS3Endpoint({ host: 'https://s3-us-west-2.amazonaws.com', bucket: 'images', urlFormat: 'auto' }).addressing, 'virtual');
  assert.equal(resolveS3Endpoint({ host: 'http://127.0.0.1:8080', bucket: 'images', urlFormat: 'auto' }).addressing, 'path');
});

test('s3 addressing: botocore\'s DNS-compatible bucket names', () => {
  for (const ok of ['abc', 'glance-images', 'a1-b2', 'x'.repeat(63)]) assert.ok(isDnsCompatibleBucket(ok), ok);
  for (const bad of ['ab', 'x'.repeat(64), 'Glance', 'my.bucket', '-abc', 'abc-', 'a_b', '']) {
    assert.ok(!isDnsCompatibleBucket(bad), bad);
  }
});
