/** The driver contract on the filesystem driver, with a small chunk so segment edges are cheap. */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createFilesystemDriver } from '../../src/blob/drivers/filesystem-driver.js';
import { describeDriverContract } from './driver-contract.js';

/** Every file under `dir` (committed and in .tmp), relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)));
}

describeDriverContract('filesystem', async () => {
  const root = mkdtempSync(join(tmpdir(), 'iris-fs-contract-'));
  // Not created yet: the driver makes it on first write.
  const dir = join(root, 'images');
  const chunkSize = 64 * 1024;
  return {
    driver: createFilesystemDriver({ dir, chunkSize }),
    chunkSize,
    listLeftovers: () => listFiles(dir),
    foreignLocations: ['/etc/passwd', 'file:///etc/passwd', `file://${root}/x`, `file://${dir}/.tmp/x`, `file://${dir}/../x`],
    async teardown() {
      rmSync(root, { recursive: true, force: true });
    },
  };
});
