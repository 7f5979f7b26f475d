/**
 * Taking nodes out from behind HAProxy (issue 17), three nodes. Planned: the operator creates a
 * node's `[healthcheck] disable_by_file_path` file, its `HEAD /healthcheck` answers 503 and
 * HAProxy sends everything to the others until the file is gone. On SIGTERM: a node stopped
 * while it sends an image stops listening at once, so its health check fails and HAProxy takes
 * it out, while the download it was serving goes on to the last byte; requests made through
 * HAProxy meanwhile are served by the others. The download is held open by the test (it stops
 * reading) until HAProxy reports the node DOWN, so nothing depends on timing. Killed (SIGKILL):
 * requests through HAProxy keep being answered, a refused connection being retried on another
 * node.
 *
 * Without haproxy or postgres the test SKIPs loudly; with CI=true it fails.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe as suite, test, type TestContext } from 'node:test';
import { requireHaproxy, SERVED_BY } from '../helpers/haproxy.js';
import { describe, json, putBytes } from '../helpers/http.js';
import { clusterOrSkip, startClusterOrSkip, type IrisCluster } from '../helpers/iris-cluster.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const haveHaproxy = requireHaproxy();

/** GET `url`; resolves with the response once its headers are in (the body not read yet). */
function startDownload(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads what is left of `res`, after `first`, to the end; rejects if the connection breaks. */
function readRest(res: IncomingMessage, first: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = [first];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => (res.complete ? resolve(Buffer.concat(chunks)) : reject(new Error('download cut short'))));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('download aborted')));
    res.resume();
  });
}

suite('draining a node behind HAProxy', { skip: !haveHaproxy && 'haproxy not installed (see the SKIP line above)' }, () => {
  let started: Awaited<ReturnType<typeof startClusterOrSkip>> | undefined;
  let cluster!: IrisCluster;
  before(async () => {
    started = await startClusterOrSkip({ nodes: 3 });
    if (!('skip' in started)) cluster = started;
  });
  after(() => cluster?.stop());
  /** False (the test marked skipped) when PostgreSQL or HAProxy could not be started outside CI. */
  const ready = (t: TestContext): boolean => clusterOrSkip(t, started) !== undefined;

  test('disable_by_file_path takes a node out of the rotation and back', async (t) => {
    if (!ready(t)) return;
    const a = cluster.nodes[0]!;
    writeFileSync(a.disableFile, '');
    try {
      const stat = await cluster.lb.waitForState(a.name, 'DOWN');
      assert.equal(stat.checkStatus, 'L7STS', 'down because /healthcheck answered 503');
      const head = await fetch(`${a.iris.baseUrl}/healthcheck`, { method: 'HEAD' });
      assert.equal(head.status, 503);
      for (let i = 0; i < 4; i += 1) {
        const r = await json('GET', `${cluster.baseUrl}/v2/images`, undefined, cluster.headers);
        assert.equal(r.status, 200, describe(r));
        assert.notEqual(r.headers.get(SERVED_BY), a.name);
      }
    } finally {
      rmSync(a.disableFile, { force: true });
    }
    await cluster.lb.waitForState(a.name, 'UP');
  });

  test('SIGTERM: its download finishes whole, its health check fails, HAProxy sends the rest to the others', async (t) => {
    if (!ready(t)) return;
    // Much larger than every buffer between Iris and the test, so the transfer is still in progress.
    const data = randomBytes(48 * 1024 * 1024);
    const created = await json('POST', `${cluster.baseUrl}/v2/images`, { name: 'drain', disk_format: 'raw', container_format: 'bare' }, cluster.headers);
    assert.equal(created.status, 201, describe(created));
    const id = created.body.id as string;
    const up = await putBytes(`${cluster.baseUrl}/v2/images/${id}/file`, data, cluster.headers);
    assert.equal(up.status, 204, describe(up));

    const res = await startDownload(`${cluster.baseUrl}/v2/images/${id}/file`, cluster.headers);
    assert.equal(res.statusCode, 200);
    const servedBy = String(res.headers[SERVED_BY]);
    const draining = cluster.node(servedBy);
    // The first bytes, then stop reading: the node is mid-transfer.
    const first = await new Promise<Buffer>((resolve, reject) => {
      res.once('data', (c: Buffer) => {
        res.pause();
        resolve(c);
      });
      res.once('error', reject);
    });

    const exited = draining.iris.kill('SIGTERM');
    await cluster.lb.waitForState(draining.name, 'DOWN');
    // Its health check fails because it no longer accepts connections at all.
    await assert.rejects(fetch(`${draining.iris.baseUrl}/healthcheck`, { method: 'HEAD' }), 'a draining node accepts no new connection');
    for (let i = 0; i < 4; i += 1) {
      const r = await json('GET', `${cluster.baseUrl}/v2/images/${id}`, undefined, cluster.headers);
      assert.equal(r.status, 200, describe(r));
      assert.notEqual(r.headers.get(SERVED_BY), draining.name);
    }

    const whole = await readRest(res, first);
    assert.equal(whole.length, data.length, 'the download is complete');
    assert.equal(md5(whole), md5(data), 'the download is intact');
    const exit = await exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `the drained node stops cleanly:\n${draining.iris.logs().slice(-3000)}`);
    assert.equal((await json('GET', `${cluster.baseUrl}/v2/images/${id}`, undefined, cluster.headers)).body.status, 'active');
  });

  test('SIGKILL: every request through HAProxy is still answered, by the nodes left', async (t) => {
    if (!ready(t)) return;
    const alive = await Promise.all(
      cluster.nodes.map(async (n) => ({ n, up: await fetch(`${n.iris.baseUrl}/healthcheck`, { method: 'HEAD' }).then(() => true, () => false) })),
    );
    const [victim, survivor] = alive.filter((x) => x.up).map((x) => x.n);
    assert.ok(victim !== undefined && survivor !== undefined, 'two nodes still running');
    await victim.iris.kill('SIGKILL');
    // Before HAProxy notices (roundrobin still picks the dead node) and after: no error either way.
    for (let i = 0; i < 6; i += 1) {
      const r = await json('GET', `${cluster.baseUrl}/v2/images`, undefined, cluster.headers);
      assert.equal(r.status, 200, describe(r));
      assert.equal(r.headers.get(SERVED_BY), survivor.name);
    }
    await cluster.lb.waitForState(victim.name, 'DOWN');
  });
});
