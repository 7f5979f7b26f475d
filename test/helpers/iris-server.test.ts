/** The test server helper: Iris on port 0, its port read from the startup line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listeningAddress, startIris } from './iris-server.js';

test('listeningAddress reads pino JSON and text startup lines; ignores everything else', () => {
  assert.deepEqual(
    listeningAddress('{"level":30,"time":1,"pid":7,"url":"http://127.0.0.1:40123","msg":"Iris listening"}'),
    { host: '127.0.0.1', port: 40123 },
  );
  assert.deepEqual(listeningAddress('[07:00:01.123] INFO (7): Iris listening url: "http://127.0.0.1:5001"'), { host: '127.0.0.1', port: 5001 });
  assert.deepEqual(listeningAddress('INFO Iris listening on http://[::1]:9292 (pid 7)'), { host: '[::1]', port: 9292 });
  assert.deepEqual(listeningAddress('{"msg":"Iris listening","url":"http://0.0.0.0:9292"}'), { host: '127.0.0.1', port: 9292 });
  assert.deepEqual(listeningAddress('{"msg":"Iris listening","url":"http://[::]:9292"}'), { host: '[::1]', port: 9292 });
  assert.equal(listeningAddress('{"msg":"config loaded","url":"http://127.0.0.1:9292"}'), undefined);
  assert.equal(listeningAddress('Iris listening'), undefined, 'no URL, no port');
  assert.equal(listeningAddress('{"msg":"Iris listening","url":"http://127.0.0.1:0"}'), undefined, 'port 0 is not an address');
});

test('startIris binds port 0 and reports the port the kernel chose', async () => {
  const iris = await startIris();
  try {
    assert.ok(iris.port > 0, `port ${iris.port}`);
    assert.equal(iris.baseUrl, `http://127.0.0.1:${iris.port}`);
    const res = await fetch(`${iris.baseUrl}/versions`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  } finally {
    await iris.stop();
  }
});
