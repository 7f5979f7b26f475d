/**
 * Three Iris nodes behind HAProxy with their images in one Swift (the store operators share
 * between API nodes instead of a shared directory): an image uploaded through the balancer is
 * served whole and by Range by every node, chunked uploads racing to one image leave exactly the
 * winner's objects (manifest and segments) in the container, and a delete through any node
 * removes them all.
 *
 * Without Swift the suite is skipped loudly (requireSwift); without haproxy or postgres the
 * tests skip loudly too. With CI=true each of these is a failure.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe as suite, test, type TestContext } from 'node:test';
import { request } from 'undici';
import { requireHaproxy } from '../helpers/haproxy.js';
import { describe, getBytes, json } from '../helpers/http.js';
import { clusterOrSkip, startClusterOrSkip, type IrisCluster } from '../helpers/iris-cluster.js';
import { listContainer } from '../helpers/swift-driver-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';

const MiB = 1024 * 1024;
const CONTAINER = 'cluster';
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

const haveTools = requireHaproxy() && requireSwift();

suite('three Iris nodes behind HAProxy on one Swift', { skip: !haveTools && 'haproxy or Swift not installed (see the SKIP line above)' }, () => {
  let swift: SwiftServer | undefined;
  let started: Awaited<ReturnType<typeof startClusterOrSkip>> | undefined;
  let cluster!: IrisCluster;
  before(async () => {
    swift = await startSwift();
    started = await startClusterOrSkip({
      nodes: 3,
      // Objects above 2 MB are written as 1 MB segments (a DLO), so a race has segments to leave.
      extraConfig: [
        '[glance_store]',
        'stores = swift',
        'default_store = swift',
        'swift_store_auth_version = 1',
        `swift_store_auth_address = ${swift.authUrl}`,
        `swift_store_user = ${swift.user}`,
        `swift_store_key = ${swift.key}`,
        `swift_store_container = ${CONTAINER}`,
        'swift_store_create_container_on_put = true',
        'swift_store_large_object_size = 2',
        'swift_store_large_object_chunk_size = 1',
      ].join('\n'),
    });
    if (!('skip' in started)) cluster = started;
  });
  after(async () => {
    await cluster?.stop();
    await swift?.stop();
  });
  const ready = (t: TestContext): boolean => clusterOrSkip(t, started) !== undefined;

  const newImage = async (name: string): Promise<string> => {
    const r = await json('POST', `${cluster.baseUrl}/v2/images`, { name, disk_format: 'raw', container_format: 'bare' }, cluster.headers);
    assert.equal(r.status, 201, describe(r));
    return r.body.id as string;
  };
  /** A chunked upload (no Content-Length, as glanceclient sends): DLO segments above 2 MB. */
  const chunkedPut = async (id: string, data: Buffer): Promise<number> => {
    const res = await request(`${cluster.baseUrl}/v2/images/${id}/file`, {
      method: 'PUT',
      headers: { ...cluster.headers, 'content-type': 'application/octet-stream' },
      body: Readable.from([data.subarray(0, MiB), data.subarray(MiB)]),
    });
    await res.body.dump();
    return res.statusCode;
  };

  test('an image uploaded through HAProxy is served by every node, whole and by Range; a delete removes every object', async (t) => {
    if (!ready(t)) return;
    const id = await newImage('swift-cluster');
    const data = randomBytes(Math.floor(2.5 * MiB));
    assert.equal(await chunkedPut(id, data), 204);
    assert.deepEqual(await listContainer(swift!, CONTAINER, id), [id, `${id}-00001`, `${id}-00002`, `${id}-00003`]);
    for (const n of cluster.nodes) {
      const whole = await getBytes(`${n.iris.baseUrl}/v2/images/${id}/file`, cluster.headers);
      assert.equal(whole.status, 200, n.name);
      assert.equal(md5(whole.bytes), md5(data), n.name);
      const ranged = await getBytes(`${n.iris.baseUrl}/v2/images/${id}/file`, { ...cluster.headers, range: `bytes=${MiB - 5}-${MiB + 4}` });
      assert.equal(ranged.status, 206, n.name);
      assert.ok(ranged.bytes.equals(data.subarray(MiB - 5, MiB + 5)), n.name);
    }
    const del = await json('DELETE', `${cluster.baseUrl}/v2/images/${id}`, undefined, cluster.headers);
    assert.equal(del.status, 204, describe(del));
    assert.deepEqual(await listContainer(swift!, CONTAINER, id), []);
  });

  test('12 chunked uploads racing to one image: one 204, the rest 409, only the winner\'s objects in Swift', async (t) => {
    if (!ready(t)) return;
    const id = await newImage('swift-race');
    const bodies = Array.from({ length: 12 }, () => randomBytes(Math.floor(2.5 * MiB)));
    const statuses = await Promise.all(bodies.map((b) => chunkedPut(id, b)));
    const winners = statuses.flatMap((s, i) => (s === 204 ? [i] : []));
    assert.equal(winners.length, 1, `statuses ${statuses.join(',')}`);
    assert.deepEqual(
      statuses.filter((s) => s !== 204),
      statuses.filter((s) => s !== 204).map(() => 409),
      statuses.join(','),
    );
    const winner = bodies[winners[0]!]!;
    assert.deepEqual(await listContainer(swift!, CONTAINER, id), [id, `${id}-00001`, `${id}-00002`, `${id}-00003`]);
    for (const n of cluster.nodes) {
      const got = await getBytes(`${n.iris.baseUrl}/v2/images/${id}/file`, cluster.headers);
      assert.equal(md5(got.bytes), md5(winner), n.name);
    }
  });
});
