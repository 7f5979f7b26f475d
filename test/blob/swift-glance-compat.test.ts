/**
 * Iris and the real Glance (glance_store's swift driver, Debian's python3-glance-store) on one
 * Swift: each reads and deletes what the other wrote, from the location string the other
 * recorded, inline credentials and swift_store_config_file alike. This is what a database moved
 * from Glance to Iris (or back) relies on.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { createSwiftDriver } from '../../src/blob/drivers/swift-driver.js';
import { readAll, sourceOf } from '../helpers/blob-streams.js';
import { REPO_ROOT } from '../helpers/iris-server.js';
import { listContainer, swiftOptions } from '../helpers/swift-driver-options.js';
import { requireSwift, startSwift, type SwiftServer } from '../helpers/swift-server.js';

const run = promisify(execFile);
const GLANCE = join(REPO_ROOT, 'test/blob/fixtures/glance-store-swift.py');
const MIB = 1024 * 1024;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function requireGlanceStore(): boolean {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import glance_store._drivers.swift.store'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `SKIP: glance_store's swift driver not importable by /usr/bin/python3 (python3-glance-store, python3-swiftclient): ${probe.stderr.trim().split('\n').pop()}`;
  if (process.env.CI === 'true') throw new Error(`${message} — CI=true, so a missing tool is a failure`);
  console.error(`\n*** ${message} ***\n`);
  return false;
}

const available = requireSwift() && requireGlanceStore();

describe('swift: Iris and Glance read and delete each other’s objects', { skip: !available && 'Swift or glance_store missing (see SKIP above)' }, () => {
  let swift: SwiftServer;
  let dir: string;
  let configFile: string;
  before(async () => {
    swift = await startSwift();
    dir = mkdtempSync(join(tmpdir(), 'iris-swift-compat-'));
    configFile = join(dir, 'swift-store.conf');
    writeFileSync(configFile, `[ref1]\nauth_address = ${swift.authUrl}\nuser = ${swift.user}\nkey = ${swift.key}\nauth_version = 1\n`);
  });
  after(async () => {
    await swift?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const glance = async (op: string, cfg: string | undefined, ...args: string[]): Promise<string> => {
    const { stdout } = await run('/usr/bin/python3', [GLANCE, op, swift.authUrl, swift.user, swift.key, 'glance', cfg ?? '-', ...args], {
      timeout: 120_000,
    });
    return stdout.trim();
  };

  for (const mode of ['inline credentials', 'swift_store_config_file'] as const) {
    const cfg = (): string | undefined => (mode === 'inline credentials' ? undefined : configFile);
    const driver = () =>
      createSwiftDriver(
        mode === 'inline credentials'
          ? swiftOptions(swift)
          : swiftOptions(swift, { swift_store_config_file: configFile, swift_store_auth_address: null, swift_store_user: null, swift_store_key: null }),
        { chunkBytes: MIB },
      );

    test(`${mode}: an image Glance stored as DLO segments is read (whole and ranged) and deleted by Iris`, async () => {
      const id = randomUUID();
      const data = randomBytes(Math.floor(2.5 * MIB));
      const file = join(dir, id);
      writeFileSync(file, data);
      const location = await glance('add', cfg(), id, file);
      assert.equal(
        location,
        mode === 'inline credentials'
          ? `swift+http://test%3Atester:testing@127.0.0.1:${swift.proxyPort}/auth/v1.0/glance/${id}`
          : `swift+config://ref1/glance/${id}`,
      );
      assert.deepEqual(await listContainer(swift, 'glance', id), [id, `${id}-00001`, `${id}-00002`, `${id}-00003`]);
      const iris = driver();
      const { stream, size } = await iris.read(location);
      assert.equal(size, data.length);
      assert.equal(md5(await readAll(stream)), md5(data));
      const part = await iris.read(location, { range: { start: MIB - 3, end: MIB + 3 } });
      assert.ok((await readAll(part.stream)).equals(data.subarray(MIB - 3, MIB + 4)));
      await iris.delete(location);
      assert.deepEqual(await listContainer(swift, 'glance', id), []);
    });

    test(`${mode}: an image Iris stored is read and deleted by Glance from Iris's location`, async () => {
      const id = randomUUID();
      const data = randomBytes(Math.floor(2.5 * MIB));
      const { location } = await driver().write(id, sourceOf(data));
      assert.equal(await glance('get', cfg(), location), md5(data));
      await glance('delete', cfg(), location);
      assert.deepEqual(await listContainer(swift, 'glance', id), []);
    });
  }
});
