import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createFilesystemDriver } from '../../src/blob/drivers/filesystem-driver.js';
import { currentWriter, formatWriter } from '../../src/blob/writer-identity.js';
import { Invalid, NotFound, StorageFull } from '../../src/domain/errors.js';
import { eventually, readAll, sourceOf, stallingSource } from '../helpers/blob-streams.js';

/** Every file under `dir`, relative to it (directories themselves are not content). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'iris-fs-driver-'));
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('filesystem driver: locations are file://<absolute dir>/<key>, as Glance', () =>
  withDir(async (dir) => {
    const driver = createFilesystemDriver({ dir });
    const { location } = await driver.write('6a4d4a38-8f5b-4c3e-9d1a-2b7c0f1e9a55', sourceOf(randomBytes(10)));
    assert.equal(location, `file://${dir}/6a4d4a38-8f5b-4c3e-9d1a-2b7c0f1e9a55`);
  }));

test('filesystem driver: a relative dir is made absolute', () =>
  withDir(async (dir) => {
    const driver = createFilesystemDriver({ dir: relative(process.cwd(), dir) });
    const { location } = await driver.write('k', sourceOf(randomBytes(10)));
    assert.equal(location, `file://${dir}/k`);
  }));

test('filesystem driver: files are 0640 and directories 0750 at most', () =>
  withDir(async (root) => {
    const dir = join(root, 'a', 'b');
    const driver = createFilesystemDriver({ dir });
    await driver.write('k', sourceOf(randomBytes(10)));
    const file = (await stat(join(dir, 'k'))).mode & 0o777;
    assert.equal(file & ~0o640, 0, `file mode ${file.toString(8)}`);
    assert.equal(file & 0o600, 0o600);
    for (const d of [dir, join(dir, '.tmp')]) {
      const mode = (await stat(d)).mode & 0o777;
      assert.equal(mode & ~0o750, 0, `${d} mode ${mode.toString(8)}`);
    }
  }));

test('filesystem driver: writes are staged in .tmp as <key>.<random>.<writer>, listed with their writer', () =>
  withDir(async (dir) => {
    const driver = createFilesystemDriver({ dir });
    const source = stallingSource(randomBytes(1000));
    const writing = driver.write('staged.v2', source);
    await eventually(async () => (await listFiles(dir)).length > 0, 'the staging file');
    const [staged] = await listFiles(dir);
    assert.equal(staged, `.tmp/staged.v2.${/\.([0-9a-f]{16})\./.exec(staged ?? '')?.[1]}.${formatWriter(currentWriter())}`);
    const [listed] = await driver.listStaging();
    assert.deepEqual([listed?.key, listed?.writer], ['staged.v2', currentWriter()]);
    source.push(null);
    await writing;
    assert.deepEqual(await listFiles(dir), ['staged.v2']);
  }));

test('filesystem driver: staging lists temp files with their mtime; removeStaging stays in .tmp', () =>
  withDir(async (dir) => {
    const driver = createFilesystemDriver({ dir });
    assert.deepEqual(await driver.listStaging(), []);
    await driver.write('kept', sourceOf(randomBytes(10)));
    await mkdir(join(dir, '.tmp'), { recursive: true });
    await writeFile(join(dir, '.tmp', 'old-image.0123456789abcdef'), 'partial');
    const then = new Date('2020-01-02T03:04:05Z');
    await utimes(join(dir, '.tmp', 'old-image.0123456789abcdef'), then, then);
    const staging = await driver.listStaging();
    assert.deepEqual(staging, [{ id: 'old-image.0123456789abcdef', key: 'old-image', modifiedAt: then }]);
    for (const id of ['', '.', '..', '../kept', 'a/b']) {
      await assert.rejects(driver.removeStaging(id), Invalid, JSON.stringify(id));
    }
    await driver.removeStaging('old-image.0123456789abcdef');
    await driver.removeStaging('old-image.0123456789abcdef');
    assert.deepEqual(await listFiles(dir), ['kept']);
  }));

test('filesystem driver: unsafe keys are refused', () =>
  withDir(async (dir) => {
    const driver = createFilesystemDriver({ dir });
    for (const key of ['', '.', '..', '.tmp', '.hidden', 'a/b', '../x', 'x\0y', 'k'.repeat(201)]) {
      await assert.rejects(driver.write(key, sourceOf(randomBytes(10))), Invalid, JSON.stringify(key));
    }
    assert.deepEqual(await listFiles(dir), []);
  }));

test('filesystem driver: locations outside the store are refused for read and delete', () =>
  withDir(async (root) => {
    const dir = join(root, 'store');
    const driver = createFilesystemDriver({ dir });
    await writeFile(join(root, 'secret'), 'secret');
    await driver.write('k', sourceOf(randomBytes(10)));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'x'), 'x');
    const foreign = [
      '/etc/passwd',
      'file:///etc/passwd',
      `file://${root}/secret`,
      `file://${dir}/../secret`,
      `file://${dir}/.tmp/x`,
      `file://${dir}/sub/x`,
      `file://${dir}/`,
      `file://${dir}`,
      `file://${dir}x/k`,
      `http://example.com${dir}/k`,
      `FILE://${dir}/k`,
    ];
    for (const location of foreign) {
      await assert.rejects(driver.read(location), Invalid, location);
      await assert.rejects(driver.delete(location), Invalid, location);
    }
    // Nothing was deleted on the way.
    assert.equal((await stat(join(root, 'secret'))).size, 6);
    assert.deepEqual(await listFiles(dir), ['k', 'sub/x']);
  }));

test('filesystem driver: a symlink or directory in the store is not readable data', () =>
  withDir(async (root) => {
    const dir = join(root, 'store');
    const driver = createFilesystemDriver({ dir });
    await driver.write('k', sourceOf(randomBytes(10)));
    await writeFile(join(root, 'secret'), 'secret');
    await symlink(join(root, 'secret'), join(dir, 'link'));
    await mkdir(join(dir, 'folder'));
    await assert.rejects(driver.read(`file://${dir}/link`), NotFound);
    await assert.rejects(driver.read(`file://${dir}/folder`), NotFound);
  }));

test('filesystem driver: a ranged read of a range outside the file is refused', () =>
  withDir(async (dir) => {
    const driver = createFilesystemDriver({ dir });
    const { location } = await driver.write('k', sourceOf(randomBytes(10)));
    await assert.rejects(driver.read(location, { range: { start: 10, end: 12 } }), { name: 'RangeNotSatisfiable' });
    // An end past the file is cut, not refused.
    const { stream } = await driver.read(location, { range: { start: 5, end: 100 } });
    assert.equal((await readAll(stream)).length, 5);
  }));

/** Mounts a 1 MiB tmpfs for the test, or returns null when this process may not mount. */
function smallFilesystem(): { dir: string; release(): void } | null {
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    release() {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('filesystem driver: a full disk is StorageFull and leaves nothing', async (t) => {
  const fs = smallFilesystem();
  if (!fs) {
    t.skip('needs permission to mount a tmpfs');
    return;
  }
  try {
    const driver = createFilesystemDriver({ dir: fs.dir });
    await assert.rejects(driver.write('big', sourceOf(randomBytes(2 * 1024 * 1024))), StorageFull);
    assert.deepEqual(await listFiles(fs.dir), []);
    // The store still works for data that fits.
    const { bytes } = await driver.write('small', sourceOf(randomBytes(1000)));
    assert.equal(bytes, 1000);
  } finally {
    fs.release();
  }
});
