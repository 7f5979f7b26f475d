/**
 * /healthcheck's detailed view over real HTTP: admins only (credentials that authenticate as
 * admin), oslo.middleware's JSON shape, every check listed; the plain view unchanged for
 * everyone else. Database down (a throwaway PostgreSQL stopped under a running Iris): the
 * detailed view's database check fails and the answer is 503, while the load balancer's plain
 * view (disable_by_file only) stays 200.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startOrSkip } from '../helpers/sql-server.js';
import { metricsUrlOf, scrape } from '../helpers/metrics-scrape.js';
import { valueOf } from '../helpers/prometheus-text.js';

const ADMIN = { 'X-Project-Id': 'project-admin', 'X-Roles': 'admin', 'X-User-Id': 'admin' };
const MEMBER = { 'X-Project-Id': 'project-a', 'X-Roles': 'member', 'X-User-Id': 'user-a' };

async function health(base: string, headers: Record<string, string>, accept = 'application/json') {
  const res = await fetch(`${base}/healthcheck`, { headers: { Accept: accept, ...headers }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: accept === 'application/json' ? JSON.parse(text) : text };
}

let iris: IrisProcess;
let base: string;
let disableFile: string;

let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iris-health-'));
  disableFile = join(dir, 'healthcheck_disable');
  iris = await startIris({ env: { IRIS__HEALTHCHECK__DETAILED: 'true', IRIS__HEALTHCHECK__DISABLE_BY_FILE_PATH: disableFile } });
  base = iris.baseUrl;
});
after(async () => {
  await iris?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('without admin credentials: the plain view, as Glance serves it', async () => {
  const callers: Record<string, string>[] = [{}, MEMBER, { 'X-Auth-Token': 'peer:project-a:member' }];
  for (const headers of callers) {
    const r = await health(base, headers);
    assert.equal(r.status, 200);
    assert.equal(r.text, '{\n    "detailed": false,\n    "reasons": [\n        "OK"\n    ]\n}');
    assert.equal(r.headers.get('x-openstack-request-id'), null);
  }
  // Identity not confirmed: still no 401 on the health check.
  const unconfirmed = await health(base, { ...ADMIN, 'X-Identity-Status': 'Invalid' });
  assert.equal(unconfirmed.status, 200);
  assert.equal(unconfirmed.body.detailed, false);
});

test('an admin gets the detailed view: every check, with its details', async () => {
  const r = await health(base, ADMIN);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body), ['detailed', 'gc', 'greenthreads', 'now', 'platform', 'python_version', 'reasons', 'threads']);
  assert.equal(r.body.detailed, true);
  assert.match(r.body.now, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
  const details = r.body.reasons.map((x: { details: string }) => x.details);
  assert.deepEqual(
    r.body.reasons.map((x: { class: string; reason: string }) => [x.class, x.reason]),
    [['HealthcheckResult', 'OK'], ['HealthcheckResult', 'OK'], ['HealthcheckResult', 'OK'], ['HealthcheckResult', 'OK']],
  );
  assert.equal(details[0], `Path '${disableFile}' was not found`);
  assert.match(details[1], /^Database answered in \d+ ms$/);
  assert.match(details[2], /^Store file \(file\) answered in \d+ ms$/);
  assert.equal(details[3], 'Notifier connected to its broker (or needs none)');

  const html = await health(base, ADMIN, 'text/html');
  assert.match(html.text, /<H1>Server status<\/H1>/);
  assert.match(html.text, /<H2>Result of 4 checks:<\/H2>/);
  const head = await fetch(`${base}/healthcheck`, { method: 'HEAD', headers: ADMIN });
  assert.equal(head.status, 204);
});

test('disable_by_file drains the node for everyone, with the reason in both views', async () => {
  writeFileSync(disableFile, '');
  try {
    const plain = await health(base, {}, 'text/plain');
    assert.equal(plain.status, 503);
    assert.equal(plain.text, 'DISABLED BY FILE');
    const detailed = await health(base, ADMIN);
    assert.equal(detailed.status, 503);
    assert.deepEqual(detailed.body.reasons[0], { class: 'HealthcheckResult', details: `Path '${disableFile}' was found`, reason: 'DISABLED BY FILE' });
  } finally {
    unlinkSync(disableFile);
  }
  assert.equal((await health(base, {})).status, 200);
});

test('database down: the detailed view fails its database check (503); the plain view stays 200', async (t) => {
  const pg = await startOrSkip(t, startPostgres);
  if (pg === undefined) return;
  let server: IrisProcess | undefined;
  try {
    const url = await pg.createDatabase('health');
    const conf = join(pg.dir, 'iris-health.conf');
    await writeFile(conf, `[database]\nconnection = ${url}\npool_timeout = 5\n\n[healthcheck]\ndetailed = true\n`);
    server = await startIris({ args: ['--config-file', conf] });
    const up = await health(server.baseUrl, ADMIN);
    assert.equal(up.status, 200, up.text);
    assert.equal(up.body.reasons[1].reason, 'OK');
    // The pool's bound: max_pool_size + max_overflow (oslo.db's 5 + 50).
    assert.equal(valueOf(await scrape(await metricsUrlOf(server)), 'iris_db_connections_max'), 55);

    await pg.stop();
    const down = await health(server.baseUrl, ADMIN);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.body.reasons[1].reason, 'DATABASE UNREACHABLE');
    assert.match(down.body.reasons[1].details, /^Database: /);
    assert.equal((await health(server.baseUrl, {})).status, 200);
  } finally {
    await server?.stop();
    await pg.stop();
  }
});
