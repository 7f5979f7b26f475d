/**
 * The rbd driver on a throwaway one-node Ceph (test/helpers/ceph-server.ts): the driver
 * contract with 1 MiB objects (rbd_store_chunk_size = 1, so sizes of 3.5 chunks span several
 * RADOS objects), then what only RBD has: the protected snapshot Nova clones, the refusal to
 * delete an image clones depend on, thin provisioning, Glance's short location form.
 * One cluster serves the whole file.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CleanupReporter } from '../../src/blob/cleanup-report.js';
import { createRbdDriver, parseRbdLocation } from '../../src/blob/drivers/rbd-driver.js';
import type { RbdDriverOptions } from '../../src/blob/store-options.js';
import { InUseByStore, Invalid } from '../../src/domain/errors.js';
import { requireCeph, startCeph, type CephServer } from '../helpers/ceph-server.js';
import { describeDriverContract, readAll, sourceOf } from './driver-contract.js';

const MiB = 1024 * 1024;
const haveCeph = requireCeph();
let started: Promise<CephServer> | undefined;
const cluster = (): Promise<CephServer> => (started ??= startCeph());
/** Every driver made here, closed before the cluster stops (librados threads must not outlive it). */
const drivers: Array<ReturnType<typeof createRbdDriver>> = [];
after(async () => {
  for (const driver of drivers.splice(0)) await driver.close();
  if (started) await (await started).stop();
});

/** Clean-up failures are test failures: collected here, asserted empty after each use. */
const cleanupErrors: unknown[] = [];
const onCleanupError: CleanupReporter = (message, error, extra) => cleanupErrors.push({ message, error, extra });

function driverOn(ceph: CephServer, extra: Partial<RbdDriverOptions> = {}): ReturnType<typeof createRbdDriver> {
  const driver = createRbdDriver({
    rbd_store_pool: ceph.pool,
    rbd_store_user: ceph.user,
    rbd_store_ceph_conf: ceph.conf,
    rbd_store_chunk_size: 1,
    rados_connect_timeout: 20,
    rbd_thin_provisioning: false,
    storeId: 'ceph',
    onCleanupError,
    ...extra,
  });
  drivers.push(driver);
  return driver;
}

async function images(ceph: CephServer): Promise<string[]> {
  return (await ceph.rbd('ls', ceph.pool)).split('\n').filter((n) => n !== '');
}

if (!haveCeph) {
  test('rbd driver (Ceph not installed)', (t) => t.skip('Ceph binaries not installed: see the SKIP line above'));
} else {
  describeDriverContract('rbd', async () => {
    const ceph = await cluster();
    return {
      driver: driverOn(ceph),
      chunkSize: MiB,
      listLeftovers: () => images(ceph),
      foreignLocations: [
        `rbd://${randomUUID()}/${ceph.pool}/x/snap`,
        'rbd://a/b',
        'rbd://a/b/c/d/e',
        'rbd:///images/x/snap',
        `rbd://${ceph.fsid}/${ceph.pool}/iris-partial.${randomUUID()}.x/snap`,
      ],
      async teardown() {
        assert.deepEqual(cleanupErrors, [], 'no clean-up failures');
      },
    };
  });

  describe('rbd store as Glance uses it', () => {
    test('an upload leaves a protected snapshot `snap`, at rbd://fsid/pool/image/snap', async () => {
      const ceph = await cluster();
      const driver = driverOn(ceph);
      const key = randomUUID();
      const { location } = await driver.write(key, sourceOf(randomBytes(2 * MiB + 3)));
      assert.equal(location, `rbd://${ceph.fsid}/${ceph.pool}/${key}/snap`);
      const snaps = JSON.parse(await ceph.rbd('snap', 'ls', '--format', 'json', `${ceph.pool}/${key}`)) as Array<{ name: string; protected: string }>;
      assert.deepEqual(
        snaps.map((s) => [s.name, s.protected]),
        [['snap', 'true']],
      );
      type Info = { size: number; order: number; features: string[] };
      const info = JSON.parse(await ceph.rbd('info', '--format', 'json', `${ceph.pool}/${key}`)) as Info;
      assert.equal(info.size, 2 * MiB + 3, 'trimmed to the bytes written');
      assert.equal(info.order, 20, 'objects of rbd_store_chunk_size (1 MiB)');
      // Glance's choice: the cluster's rbd_default_features, as `rbd create` uses them.
      await ceph.rbd('create', '--size', '1M', `${ceph.pool}/${key}-probe`);
      const probe = JSON.parse(await ceph.rbd('info', '--format', 'json', `${ceph.pool}/${key}-probe`)) as Info;
      await ceph.rbd('rm', `${ceph.pool}/${key}-probe`);
      assert.ok(info.features.includes('layering'));
      assert.deepEqual(info.features, probe.features);
      await driver.delete(location);
      assert.ok(!(await images(ceph)).includes(key));
    });

    test('a clone of the snapshot has the image bytes; deleting the image is refused as Glance (InUseByStore), both intact', async () => {
      const ceph = await cluster();
      const driver = driverOn(ceph);
      const key = randomUUID();
      const child = `${key}-disk`;
      const data = randomBytes(3 * MiB + 17);
      const { location } = await driver.write(key, sourceOf(data));
      // What Nova does with an rbd image backend.
      await ceph.rbd('clone', `${ceph.pool}/${key}@snap`, `${ceph.pool}/${child}`);
      const dir = mkdtempSync(join(tmpdir(), 'iris-rbd-clone-'));
      try {
        await ceph.rbd('export', `${ceph.pool}/${child}`, join(dir, 'disk'));
        assert.ok(readFileSync(join(dir, 'disk')).equals(data), 'the clone reads the image bytes');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      assert.equal(await driver.inUse(location), true);
      await assert.rejects(driver.delete(location), (err) => err instanceof InUseByStore && /in use through the backend store/.test(err.message));
      assert.ok((await readAll((await driver.read(location)).stream)).equals(data), 'the image is intact');
      assert.ok((await images(ceph)).includes(child), 'the clone is intact');
      await ceph.rbd('rm', `${ceph.pool}/${child}`);
      assert.equal(await driver.inUse(location), false);
      await driver.delete(location);
      assert.ok(!(await images(ceph)).includes(key));
    });

    test('thin provisioning leaves chunks of zeros unallocated and reads them back as zeros', async () => {
      const ceph = await cluster();
      const data = Buffer.concat([randomBytes(MiB), Buffer.alloc(2 * MiB), randomBytes(MiB / 2)]);
      const allocated = async (key: string): Promise<number> => {
        const extents = JSON.parse(await ceph.rbd('diff', '--format', 'json', `${ceph.pool}/${key}@snap`)) as Array<{ length: number }>;
        return extents.reduce((sum, e) => sum + e.length, 0);
      };
      const thin = driverOn(ceph, { rbd_thin_provisioning: true });
      const thinKey = randomUUID();
      const thinLoc = (await thin.write(thinKey, sourceOf(data))).location;
      assert.equal(await allocated(thinKey), MiB + MiB / 2, 'only the non-zero chunks are written');
      assert.ok((await readAll((await thin.read(thinLoc)).stream)).equals(data));
      const thick = driverOn(ceph);
      const thickKey = randomUUID();
      const thickLoc = (await thick.write(thickKey, sourceOf(data))).location;
      assert.equal(await allocated(thickKey), data.length, 'without it every chunk is written');
      await thin.delete(thinLoc);
      await thick.delete(thickLoc);
    });

    test('an image of unknown size grows past several resize steps and keeps every byte', async () => {
      const ceph = await cluster();
      const driver = driverOn(ceph, { writesInFlight: 4 });
      const data = randomBytes(9 * MiB + 5); // steps of 1, 2, 4, 8 MiB
      const { location } = await driver.write(randomUUID(), sourceOf(data, 100_000));
      const { stream, size } = await driver.read(location, { range: { start: 5 * MiB - 3, end: 9 * MiB + 4 } });
      assert.equal(size, data.length);
      assert.ok((await readAll(stream)).equals(data.subarray(5 * MiB - 3)));
      await driver.delete(location);
    });

    test('a declared size creates the image at that size; the source still decides what is stored', async () => {
      const ceph = await cluster();
      const driver = driverOn(ceph);
      const data = randomBytes(2 * MiB + 7);
      for (const sizeHint of [data.length, MiB, 5 * MiB]) {
        const key = randomUUID();
        const { location, bytes } = await driver.write(key, sourceOf(data), { sizeHint });
        assert.equal(bytes, data.length, `hint ${sizeHint}`);
        const info = JSON.parse(await ceph.rbd('info', '--format', 'json', `${ceph.pool}/${key}`)) as { size: number };
        assert.equal(info.size, data.length, `hint ${sizeHint}: image trimmed or grown to the bytes received`);
        assert.ok((await readAll((await driver.read(location)).stream)).equals(data), `hint ${sizeHint}`);
        await driver.delete(location);
      }
    });

    test("Glance's short form rbd://<image> reads and deletes the image in the store's pool", async () => {
      const ceph = await cluster();
      const driver = driverOn(ceph);
      const key = randomUUID();
      const data = randomBytes(MiB + 1);
      await driver.write(key, sourceOf(data));
      const short = `rbd://${key}`;
      assert.deepEqual(parseRbdLocation(short), { fsid: null, pool: null, image: key, snapshot: null });
      assert.ok((await readAll((await driver.read(short, { range: { start: 1, end: MiB } })).stream)).equals(data.subarray(1)));
      // The short form names no snapshot: like Glance, the image with its snapshot is not removed.
      await assert.rejects(driver.delete(short), /snapshot/);
      await driver.delete(`rbd://${ceph.fsid}/${ceph.pool}/${key}/snap`);
      await driver.delete(short);
      assert.ok(!(await images(ceph)).includes(key));
    });

    test('close drops the cluster connection; the next call connects again', async () => {
      const ceph = await cluster();
      const driver = driverOn(ceph);
      const data = randomBytes(MiB + 17);
      const { location } = await driver.write(randomUUID(), sourceOf(data));
      await driver.close();
      await driver.close(); // twice is harmless (shutdown paths may overlap)
      const { stream, size } = await driver.read(location);
      assert.equal(size, data.length);
      assert.ok((await readAll(stream)).equals(data));
      await driver.delete(location);
    });

    test('locations are parsed as glance_store parses them', () => {
      assert.deepEqual(parseRbdLocation('rbd://f%2Fs/p/i/s'), { fsid: 'f/s', pool: 'p', image: 'i', snapshot: 's' });
      for (const bad of ['rbd://', 'rbd://a/b', 'rbd://a//c/d', 'file:///x']) assert.throws(() => parseRbdLocation(bad), Invalid, bad);
    });
  });
}
