/**
 * Retries happen only for idempotent calls. A tiny local server fails the first N requests
 * (503, or a dropped connection) and then answers; the test counts what the SDK sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createIrisClient, IrisApiError, IrisConnectionError } from '../../src/client/index.js';
import { localServer, sendJson, type LocalServer } from './local-server.js';

const IMAGE = { id: 'i1', name: 'x', status: 'queued', tags: [] };

/** Fails the first `failures` requests with `how`, then answers like a tiny Glance. */
function flaky(failures: number, how: '503' | 'drop' = '503'): Promise<LocalServer> {
  return localServer((req, res, _body, index) => {
    if (index < failures) {
      if (how === 'drop') {
        req.socket.destroy();
        return;
      }
      sendJson(res, 503, { message: 'busy', code: '503 Service Unavailable', title: 'Service Unavailable' });
      return;
    }
    if (req.method === 'GET' || req.method === 'PATCH' || req.method === 'POST' && req.url === '/v2/images') {
      sendJson(res, req.method === 'POST' ? 201 : 200, IMAGE);
      return;
    }
    res.writeHead(204).end();
  });
}

async function withServer(srv: LocalServer, fn: (client: ReturnType<typeof createIrisClient>) => Promise<void>): Promise<void> {
  const client = createIrisClient({ endpoint: srv.url, retries: 2, retryDelayMs: 5 });
  try {
    await fn(client);
  } finally {
    await client.close();
    await srv.close();
  }
}

test('GET is retried after 503s and succeeds', async () => {
  const srv = await flaky(2);
  await withServer(srv, async (client) => {
    assert.equal((await client.images.get('i1')).id, 'i1');
    assert.equal(srv.requests.length, 3);
  });
});

test('GET is retried after dropped connections', async () => {
  const srv = await flaky(2, 'drop');
  await withServer(srv, async (client) => {
    assert.equal((await client.images.get('i1')).id, 'i1');
    assert.equal(srv.requests.length, 3);
  });
});

test('retries give up after the configured count with the last error', async () => {
  const srv = await flaky(10);
  await withServer(srv, async (client) => {
    await assert.rejects(client.images.get('i1'), (err: unknown) => err instanceof IrisApiError && err.status === 503 && err.message === 'busy');
    assert.equal(srv.requests.length, 3);
  });
});

test('DELETE and tag PUT/DELETE are retried', async () => {
  const srv = await flaky(1);
  await withServer(srv, async (client) => {
    await client.images.delete('i1');
    assert.equal(srv.requests.length, 2);
  });
  const srv2 = await flaky(1);
  await withServer(srv2, async (client) => {
    await client.images.addTag('i1', 't');
    assert.deepEqual(srv2.requests.map((r) => `${r.method} ${r.url}`), ['PUT /v2/images/i1/tags/t', 'PUT /v2/images/i1/tags/t']);
  });
});

test('POST (create, actions), PATCH and uploads are never retried', async () => {
  const cases: [string, (c: ReturnType<typeof createIrisClient>) => Promise<unknown>][] = [
    ['create', (c) => c.images.create({ name: 'x' })],
    ['deactivate', (c) => c.images.deactivate('i1')],
    ['patch', (c) => c.images.patch('i1', [{ op: 'replace', path: '/name', value: 'y' }])],
    ['upload buffer', (c) => c.images.upload('i1', Buffer.from('abc'))],
    ['upload stream', (c) => c.images.upload('i1', Readable.from([Buffer.from('abc')]))],
    ['member add', (c) => c.members.add('i1', 'p')],
  ];
  for (const [name, call] of cases) {
    const srv = await flaky(1);
    await withServer(srv, async (client) => {
      await assert.rejects(call(client), (err: unknown) => err instanceof IrisApiError && err.status === 503, name);
      assert.equal(srv.requests.length, 1, `${name} was sent ${srv.requests.length} times`);
    });
  }
  const dropped = await flaky(1, 'drop');
  await withServer(dropped, async (client) => {
    await assert.rejects(client.images.create({ name: 'x' }), IrisConnectionError);
    assert.equal(dropped.requests.length, 1);
  });
});

test('a refused connection is an IrisConnectionError naming the URL', async () => {
  const srv = await localServer((_req, res) => {
    res.end();
  });
  const url = srv.url;
  await srv.close();
  const client = createIrisClient({ endpoint: url, retries: 1, retryDelayMs: 1 });
  try {
    await assert.rejects(client.images.get('x'), (err: unknown) => {
      assert.ok(err instanceof IrisConnectionError);
      assert.match(err.message, /ECONNREFUSED/);
      assert.match(err.message, new RegExp(`GET ${url}/v2/images/x`));
      return true;
    });
  } finally {
    await client.close();
  }
});
