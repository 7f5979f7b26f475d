import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/load-config.js';
import { createStoreDriver, isReadOnlyStore, storeProperties } from './store-registry.js';

const ctx = { storeId: 'x', onCleanupError: () => assert.fail('no clean-up expected'), addressPolicy: { allowPrivateNetworks: false } };

/** Backends of a multi-store configuration given as environment variables. */
function backends(env: Record<string, string>) {
  return loadConfig({ argv: [], env: { IRIS_DATA_DIR: '/tmp/iris-registry-test', ...env }, cwd: '/tmp' }).backends;
}

const MULTI = {
  IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,obj:swift,bucket:s3,web:http',
  IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
  IRIS__OBJ__SWIFT_STORE_AUTH_ADDRESS: 'http://127.0.0.1:1/auth/v1.0',
  IRIS__OBJ__SWIFT_STORE_USER: 'test:tester',
  IRIS__OBJ__SWIFT_STORE_KEY: 'testing',
  IRIS__OBJ__SWIFT_STORE_CONTAINER: 'images',
  IRIS__OBJ__SWIFT_STORE_LARGE_OBJECT_SIZE: '64',
  IRIS__BUCKET__S3_STORE_HOST: 'http://127.0.0.1:1',
  IRIS__BUCKET__S3_STORE_ACCESS_KEY: 'a:b',
  IRIS__BUCKET__S3_STORE_SECRET_KEY: 'c',
  IRIS__BUCKET__S3_STORE_BUCKET: 'glance',
  IRIS__BUCKET__S3_STORE_THREAD_POOLS: '4',
};

test("store registry: /v2/info/stores/detail properties per type, as Glance's discovery (sizes in bytes)", () => {
  const [local, obj, bucket, web] = backends(MULTI);
  assert.deepEqual(storeProperties(local!), { data_dir: '/tmp/iris-registry-test/images/local', chunk_size: 65536, thin_provisioning: false });
  assert.deepEqual(storeProperties(obj!), { container: 'images', large_object_size: 64 * 1024 * 1024, large_object_chunk_size: 200 * 1024 * 1024 });
  assert.deepEqual(storeProperties(bucket!), {
    s3_store_large_object_size: 100 * 1024 * 1024,
    s3_store_large_object_chunk_size: 10 * 1024 * 1024,
    s3_store_thread_pools: 4,
  });
  assert.deepEqual(storeProperties(web!), {});
  assert.deepEqual([local, obj, bucket, web].map((b) => isReadOnlyStore(b!)), [false, false, false, true]);
});

test('store registry: builds a driver for every type, of the scheme its locations use', () => {
  const [local, obj, bucket, web] = backends(MULTI);
  assert.equal(createStoreDriver(local!, ctx).scheme, 'file');
  const http = createStoreDriver(web!, ctx);
  assert.deepEqual([http.scheme, http.schemes, http.capabilities.writable], ['http', ['http', 'https'], false]);
  assert.deepEqual([createStoreDriver(obj!, ctx).scheme, createStoreDriver(obj!, ctx).capabilities.writable], ['swift+http', true]);
  assert.deepEqual([createStoreDriver(bucket!, ctx).capabilities.writable], [true]);
});

test("store registry: an rbd store shows Glance's rbd properties and builds its driver without connecting", () => {
  const [, ceph] = backends({
    IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,ceph:rbd',
    IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'ceph',
    IRIS__CEPH__RBD_STORE_CHUNK_SIZE: '4',
    IRIS__CEPH__RBD_THIN_PROVISIONING: 'true',
  });
  assert.deepEqual(storeProperties(ceph!), { chunk_size: 4 * 1024 * 1024, pool: 'images', thin_provisioning: true });
  assert.equal(isReadOnlyStore(ceph!), false);
  // The cluster is reached on first use, so a Ceph outage does not stop the server's start.
  const driver = createStoreDriver(ceph!, ctx);
  assert.deepEqual([driver.scheme, driver.capabilities], ['rbd', { writable: true, rangedReads: true }]);
});
