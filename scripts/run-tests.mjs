#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner. Node 20's --test takes
// no globs, so the file list is made here. Extra arguments are passed to node --test
// (e.g. `npm test -- --test-name-pattern=upload`). Without file arguments (the whole suite, as
// CI runs it) the linter (`npm run lint`) runs first; the tests run even when it fails, and
// either failing fails the run.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const files = only.length > 0 ? only : [...collect(join(root, 'src'), []), ...collect(join(root, 'test'), [])];
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
let lintFailed = false;
if (only.length === 0) {
  console.log('# lint: eslint (eslint.config.js)');
  const lint = spawnSync(process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js')], { stdio: 'inherit', cwd: root });
  lintFailed = lint.status !== 0;
  console.log(lintFailed ? `# lint: FAILED (exit ${lint.status ?? lint.signal ?? lint.error})` : '# lint: ok');
}
// The servers the tests start run dist/ (bin/iris-api.js): build it once here, not inside the
// first test that starts one. A failure is only reported: the launcher then runs the sources.
const { prepareDist } = await import('../bin/build-dist.js');
await prepareDist();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', ...flags, ...files],
  { stdio: 'inherit', cwd: root },
);
if (lintFailed) console.error('npm test: the lint failed (see above)');
process.exit(lintFailed ? 1 : (result.status ?? 1));
