import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHealthChecks, disableByFile } from './health-checks.js';

test('disable_by_file: the middleware plugin’s reasons and details', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-health-'));
  try {
    const path = join(dir, 'disable');
    assert.deepEqual(disableByFile(null), { available: true, reason: 'OK', details: "No 'disable_by_file_path' configuration value specified" });
    assert.deepEqual(disableByFile(path), { available: true, reason: 'OK', details: `Path '${path}' was not found` });
    writeFileSync(path, '');
    assert.deepEqual(disableByFile(path), { available: false, reason: 'DISABLED BY FILE', details: `Path '${path}' was found` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('basic runs the configured backends only; all adds database, stores and messaging', async () => {
  const checks = createHealthChecks({
    disableByFilePath: null,
    backends: ['disable_by_file'],
    pingDatabase: async () => undefined,
    stores: [{ id: 'local', type: 'file', probe: async () => undefined }, { id: 'web', type: 'http' }],
    brokerConnected: () => true,
  });
  assert.deepEqual((await checks.basic()).map((r) => r.reason), ['OK']);
  const all = await checks.all();
  assert.equal(all.length, 5);
  assert.ok(all.every((r) => r.available));
  assert.match(all[1]!.details, /^Database answered in \d+ ms$/);
  assert.match(all[2]!.details, /^Store local \(file\) answered in \d+ ms$/);
  assert.equal(all[3]!.details, 'Store web (http): no probe for this store type');
});

test('a database that fails or does not answer, a store that fails, a broker gone: failing checks', async () => {
  const checks = createHealthChecks({
    disableByFilePath: null,
    backends: ['database'],
    pingDatabase: () => new Promise(() => undefined), // never answers
    stores: [{ id: 'local', type: 'file', probe: async () => { throw new Error('EACCES: permission denied'); } }],
    brokerConnected: () => false,
    timeoutMs: 50,
  });
  const basic = await checks.basic();
  assert.deepEqual(basic, [{ available: false, reason: 'DATABASE UNREACHABLE', details: 'Database: no answer within 50 ms' }]);
  const all = await checks.all();
  assert.deepEqual(
    all.map((r) => [r.available, r.reason]),
    [[false, 'DATABASE UNREACHABLE'], [true, 'OK'], [false, 'STORE UNREACHABLE'], [false, 'BROKER DISCONNECTED']],
  );
  assert.equal(all[2]!.details, 'Store local (file): EACCES: permission denied');

  const refused = createHealthChecks({ disableByFilePath: null, backends: ['database'], pingDatabase: async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:5432'); } });
  assert.deepEqual(await refused.basic(), [{ available: false, reason: 'DATABASE UNREACHABLE', details: 'Database: connect ECONNREFUSED 127.0.0.1:5432' }]);
});
