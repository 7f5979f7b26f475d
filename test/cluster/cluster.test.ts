/**
 * Issue 17's proof that several Iris nodes behave as one service: PostgreSQL, three Iris nodes
 * sharing it, one filesystem store directory and one staging directory, HAProxy in front
 * (test/helpers/iris-cluster.ts). Through HAProxy: the glanceclient lifecycle, links that name
 * the balancer (https behind its TLS port, whatever proxy headers the client sends), 20 uploads
 * racing to one image from every node (one 204, the rest 409, no orphan file); node by node: an
 * image staged on one node and imported through another, and one import asked of two nodes at
 * once (one task).
 *
 * Without haproxy, postgres or glance the tests SKIP loudly; with CI=true they fail.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe as suite, test, type TestContext } from 'node:test';
import { glanceAgainst, makeHome, runLifecycle } from '../clients/glance-lifecycle.js';
import { requireHaproxy, SERVED_BY } from '../helpers/haproxy.js';
import { describe, getBytes, json, putBytes } from '../helpers/http.js';
import { clusterOrSkip, startClusterOrSkip, type IrisCluster } from '../helpers/iris-cluster.js';
import { files, partials, until } from '../helpers/store-files.js';
import { GLANCE, requireTool } from '../helpers/tools.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** One HTTPS request to HAProxy's TLS port (its certificate is self-signed). */
function overTls(method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
const haveHaproxy = requireHaproxy();
const haveGlance = requireTool('glance', GLANCE);

suite('three Iris nodes behind HAProxy', { skip: !haveHaproxy && 'haproxy not installed (see the SKIP line above)' }, () => {
  let started: Awaited<ReturnType<typeof startClusterOrSkip>> | undefined;
  let cluster!: IrisCluster;
  before(async () => {
    started = await startClusterOrSkip({ nodes: 3, tls: true });
    if (!('skip' in started)) cluster = started;
  });
  after(() => cluster?.stop());
  /** False (the test marked skipped) when PostgreSQL or HAProxy could not be started outside CI. */
  const ready = (t: TestContext): boolean => clusterOrSkip(t, started) !== undefined;

  const newImage = async (base: string, name: string): Promise<string> => {
    const r = await json('POST', `${base}/v2/images`, { name, disk_format: 'raw', container_format: 'bare' }, cluster.headers);
    assert.equal(r.status, 201, describe(r));
    return r.body.id as string;
  };
  const imageAt = async (base: string, id: string): Promise<Record<string, unknown>> => {
    const r = await json('GET', `${base}/v2/images/${id}`, undefined, cluster.headers);
    assert.equal(r.status, 200, describe(r));
    return r.body as Record<string, unknown>;
  };

  test('HAProxy spreads requests over every node, each checked healthy with HEAD /healthcheck', async (t) => {
    if (!ready(t)) return;
    const served = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const r = await json('GET', `${cluster.baseUrl}/v2/images`, undefined, cluster.headers);
      assert.equal(r.status, 200, describe(r));
      served.add(r.headers.get(SERVED_BY) ?? '');
    }
    assert.deepEqual([...served].sort(), ['node1', 'node2', 'node3']);
    for (const s of await cluster.lb.stats()) assert.equal(s.checkStatus, 'L7OK', JSON.stringify(s));
  });

  test('glanceclient lifecycle through HAProxy', { skip: !haveGlance && 'glance not installed (see the SKIP line above)', timeout: 300_000 }, async (t) => {
    if (!ready(t)) return;
    const work = mkdtempSync(join(tmpdir(), 'iris-cluster-glance-'));
    const home = makeHome();
    try {
      const g = glanceAgainst(cluster.baseUrl, home, () => cluster.logs());
      await runLifecycle(g, work, {
        async onUploaded(id, data) {
          // Every node sees the image and serves its bytes from the shared store.
          for (const n of cluster.nodes) {
            const got = await getBytes(`${n.iris.baseUrl}/v2/images/${id}/file`, cluster.headers);
            assert.equal(got.status, 200, `${n.name}: download`);
            assert.equal(md5(got.bytes), md5(data), `${n.name}: downloaded bytes`);
          }
        },
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('links and Location headers name the balancer, not the node', async (t) => {
    if (!ready(t)) return;
    const versions = await json('GET', `${cluster.baseUrl}/versions`, undefined, cluster.headers);
    assert.equal(versions.status, 200, describe(versions));
    for (const v of versions.body.versions as { links: { href: string }[] }[]) {
      assert.equal(v.links[0]?.href, `${cluster.baseUrl}/v2/`, JSON.stringify(v));
    }
    const created = await json('POST', `${cluster.baseUrl}/v2/images`, { name: 'links' }, cluster.headers);
    assert.equal(created.status, 201, describe(created));
    assert.equal(created.headers.get('location'), `${cluster.baseUrl}/v2/images/${created.body.id}`);
    const redirect = await fetch(`${cluster.baseUrl}/v2`, { headers: cluster.headers, redirect: 'manual' });
    await redirect.arrayBuffer();
    assert.equal(redirect.headers.get('location'), `${cluster.baseUrl}/v2/`);
  });

  test('behind TLS termination links say https; proxy headers sent by the client are not believed', async (t) => {
    if (!ready(t)) return;
    const tls = cluster.lb.tlsBaseUrl!;
    const spoof = { 'x-forwarded-host': 'evil.example', forwarded: 'proto=http;host=evil.example', 'x-forwarded-proto': 'http' };
    const versions = await overTls('GET', `${tls}/versions`, { ...cluster.headers, ...spoof });
    assert.equal(versions.status, 200, versions.text);
    assert.match(versions.text, new RegExp(`"href": "${tls}/v2/"`), versions.text);
    const created = await overTls('POST', `${tls}/v2/images`, { ...cluster.headers, ...spoof, 'content-type': 'application/json' }, '{"name": "tls"}');
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.location, `${tls}/v2/images/${(JSON.parse(created.text) as { id: string }).id}`);
    // The plain port, with the same spoofed headers: http and the balancer's own address.
    const plain = await json('POST', `${cluster.baseUrl}/v2/images`, { name: 'plain' }, { ...cluster.headers, ...spoof });
    assert.equal(plain.headers.get('location'), `${cluster.baseUrl}/v2/images/${plain.body.id}`);
  });

  test('stage on node1, glance-direct import through node2, the shared staging directory between them', async (t) => {
    if (!ready(t)) return;
    const [a, b, c] = cluster.nodes.map((n) => n.iris.baseUrl) as [string, string, string];
    const data = randomBytes(2 * 1024 * 1024 + 17);
    const id = await newImage(cluster.baseUrl, 'staged-elsewhere');
    const staged = await putBytes(`${a}/v2/images/${id}/stage`, data, cluster.headers);
    assert.equal(staged.status, 204, describe(staged));
    assert.ok(existsSync(join(cluster.stagingDir, id)), 'the staged bytes are in the shared staging directory');
    assert.equal((await imageAt(c, id)).status, 'uploading');

    const imported = await json('POST', `${b}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, cluster.headers);
    assert.equal(imported.status, 202, describe(imported));
    const image = await until(`image ${id} active`, async () => {
      const img = await imageAt(c, id);
      assert.ok(img.status !== 'queued' && !String(img.os_glance_failed_import ?? '').includes('glance-direct'), JSON.stringify(img));
      return img.status === 'active' ? img : undefined;
    }, 120_000);
    assert.equal(image.checksum, md5(data));
    assert.equal(image.size, data.length);
    const got = await getBytes(`${cluster.baseUrl}/v2/images/${id}/file`, cluster.headers);
    assert.equal(md5(got.bytes), md5(data));
    // The task drops the staged bytes just after the image turns active.
    await until('the import to remove the staged bytes', async () => (existsSync(join(cluster.stagingDir, id)) ? undefined : true), 60_000);
  });

  test('an image staged once, its import asked of two nodes at once: one task, one 202, one 409', async (t) => {
    if (!ready(t)) return;
    const [a, b] = cluster.nodes.map((n) => n.iris.baseUrl) as [string, string];
    const data = randomBytes(4 * 1024 * 1024 + 5);
    const id = await newImage(cluster.baseUrl, 'imported-twice');
    const staged = await putBytes(`${cluster.baseUrl}/v2/images/${id}/stage`, data, cluster.headers);
    assert.equal(staged.status, 204, describe(staged));
    const answers = await Promise.all(
      [a, b].map((base) => json('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } }, cluster.headers)),
    );
    assert.deepEqual(answers.map((r) => r.status).sort(), [202, 409], answers.map(describe).join('\n'));
    const image = await until(`image ${id} active`, async () => {
      const img = await imageAt(cluster.baseUrl, id);
      return img.status === 'active' ? img : undefined;
    }, 120_000);
    assert.equal(image.checksum, md5(data));
    const tasks = await json('GET', `${cluster.baseUrl}/v2/images/${id}/tasks`, undefined, cluster.headers);
    assert.equal(tasks.status, 200, describe(tasks));
    assert.equal((tasks.body.tasks as unknown[]).length, 1, JSON.stringify(tasks.body));
  });

  test('20 uploads racing to one image through HAProxy: one 204, nineteen 409, no orphan in the store', async (t) => {
    if (!ready(t)) return;
    const id = await newImage(cluster.baseUrl, 'race');
    const before = files(cluster.storeDir);
    // Bodies larger than one read: a loser is answered 409 before its body is read; the lingering
    // close (src/http/lingering-close.ts, proven at the socket level in
    // test/api/lingering-close.test.ts) keeps that answer from turning into a reset.
    const bodies = Array.from({ length: 20 }, () => randomBytes(1024 * 1024 + 3));
    const answers = await Promise.all(bodies.map((b) => putBytes(`${cluster.baseUrl}/v2/images/${id}/file`, b, cluster.headers)));
    const statuses = answers.map((r) => r.status);
    const winners = statuses.flatMap((s, i) => (s === 204 ? [i] : []));
    assert.equal(winners.length, 1, `statuses ${statuses.join(',')}\n${answers.filter((r) => r.status !== 204 && r.status !== 409).map(describe).join('\n')}`);
    assert.deepEqual(statuses.filter((s) => s !== 204).map(() => 409), statuses.filter((s) => s !== 204), statuses.join(','));
    assert.deepEqual(new Set(answers.map((r) => r.headers.get(SERVED_BY))), new Set(['node1', 'node2', 'node3']), 'the uploads reached every node');

    const winner = bodies[winners[0]!]!;
    for (const n of cluster.nodes) {
      const image = await imageAt(n.iris.baseUrl, id);
      assert.equal(image.status, 'active', n.name);
      assert.equal(image.checksum, md5(winner), `${n.name}: the winner's checksum`);
    }
    // Exactly one new file (the winner's), and no partial write left by the losers.
    const added = files(cluster.storeDir).filter((f) => !before.includes(f));
    assert.deepEqual(added, [id], `store dir: ${readdirSync(cluster.storeDir).join(', ')}`);
    assert.deepEqual(partials(cluster.storeDir), [], 'no partial writes left');
    const got = await getBytes(`${cluster.baseUrl}/v2/images/${id}/file`, cluster.headers);
    assert.equal(md5(got.bytes), md5(winner));
  });
});
