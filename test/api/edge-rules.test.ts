/**
 * Rules checked at the edge without an image (tasks_api_access, stores_info_detail) come from
 * the policy engine: a policy file that opens them to members changes exactly those answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';

const MEMBER = { 'X-Project-Id': 'project-a', 'X-Roles': 'member,reader', 'X-User-Id': 'user-a' };
const MULTI = { IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file', IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local' };

test('tasks_api_access and stores_info_detail: admin-only by default, opened by a policy file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-edge-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, '"tasks_api_access": "role:member"\n"stores_info_detail": "role:member"\n');

  const strict = await startIris({ env: MULTI });
  try {
    const tasks = await json('GET', `${strict.baseUrl}/v2/tasks`, undefined, MEMBER);
    assert.equal(tasks.status, 403, describe(tasks));
    const detail = await json('GET', `${strict.baseUrl}/v2/info/stores/detail`, undefined, MEMBER);
    assert.equal(detail.status, 403, describe(detail));
  } finally {
    await strict.stop();
  }
  const open = await startIris({ env: { ...MULTI, IRIS__OSLO_POLICY__POLICY_FILE: file } });
  try {
    const tasks = await json('GET', `${open.baseUrl}/v2/tasks`, undefined, MEMBER);
    assert.equal(tasks.status, 200, describe(tasks));
    const detail = await json('GET', `${open.baseUrl}/v2/info/stores/detail`, undefined, MEMBER);
    assert.equal(detail.status, 200, describe(detail));
    assert.deepEqual(detail.body.stores.map((s: { id: string }) => s.id), ['local', 'local2']);
  } finally {
    await open.stop();
  }
});

test('an edited policy file applies to a running server without a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-edge-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, '"tasks_api_access": "role:admin"\n');
  const iris = await startIris({ env: { ...MULTI, IRIS__OSLO_POLICY__POLICY_FILE: file } });
  try {
    const before = await json('GET', `${iris.baseUrl}/v2/tasks`, undefined, MEMBER);
    assert.equal(before.status, 403, describe(before));
    writeFileSync(file, '"tasks_api_access": "role:member"\n');
    // Applied within a second of a request (docs/configuration.md); polled, never slept on.
    let status = 0;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      status = (await json('GET', `${iris.baseUrl}/v2/tasks`, undefined, MEMBER)).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, 'the edited rule is in force');
  } finally {
    await iris.stop();
  }
});
