import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../helpers/iris-server.js';

// bin/build-dist.js is plain JavaScript (it runs before any loader).
const { prepareDist } = (await import(join(REPO_ROOT, 'bin', 'build-dist.js'))) as { prepareDist(): Promise<string | undefined> };

function tsSources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tsSources(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

test('dist/ holds every source with its types stripped, and is not rebuilt while the sources stay the same', async () => {
  const main = await prepareDist();
  assert.ok(main !== undefined, 'dist/ could be built');
  const mainFile = fileURLToPath(main);
  assert.equal(relative(REPO_ROOT, mainFile), join('dist', 'main.js'));
  const src = join(REPO_ROOT, 'src');
  for (const file of tsSources(src)) {
    const built = join(REPO_ROOT, 'dist', relative(src, file).replace(/\.ts$/, '.js'));
    assert.ok(existsSync(built), `${built} is missing`);
  }
  const before = statSync(mainFile).mtimeMs;
  assert.equal(await prepareDist(), main);
  assert.equal(statSync(mainFile).mtimeMs, before, 'an unchanged tree is reused');
});
