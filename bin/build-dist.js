// Transpiles src/ (TypeScript) file by file into dist/ (same layout, .js) so that the API server
// runs without tsx's loader: the loader's thread and its compiled copies of the sources held
// ~50 MiB of resident memory in every Iris process (idle RSS 170 -> 120 MiB, bench/RESULTS.md
// session 9). Types are only stripped (esbuild, no bundling), so stack traces name the same
// modules and functions as the sources. dist/.stamp records the sources it was made from;
// `prepareDist()` rebuilds whenever any source changed, so dist/ never runs stale code.
//
//   node bin/build-dist.js        # (re)build dist/ now (npm run build)
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const STAMP = '.stamp';
/** Part of the stamp: a change to how dist/ is made rebuilds it. */
const FORMAT = 'esm node20 v1';

function sources(dir = SRC, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** A digest of the sources' names, sizes and modification times (a few ms for ~300 files). */
function stampOf(files) {
  const hash = createHash('sha256').update(FORMAT);
  for (const file of files.sort()) {
    const s = statSync(file);
    hash.update(`${relative(SRC, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function readStamp() {
  try {
    return readFileSync(join(DIST, STAMP), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Builds dist/ into a directory of its own, then swaps it in: a process starting meanwhile sees
 * the old tree or the new one, never half of one.
 */
export async function buildDist(files = sources(), stamp = stampOf(files)) {
  const { buildSync } = await import('esbuild');
  const next = `${DIST}.build-${process.pid}`;
  const old = `${DIST}.old-${process.pid}`;
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  try {
    buildSync({ entryPoints: files, outdir: next, outbase: SRC, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' });
    writeFileSync(join(next, STAMP), stamp);
    // Another process built the same sources meanwhile (several started at once): keep its tree,
    // which it may be loading from.
    if (readStamp() === stamp) return stamp;
    let moved = false;
    try {
      renameSync(DIST, old);
      moved = true;
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    renameSync(next, DIST);
    if (moved) rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(next, { recursive: true, force: true });
  }
  return stamp;
}

/**
 * The URL of dist/main.js once dist/ matches the sources (rebuilt here if it does not), or
 * undefined when it cannot be built (a read-only install without `npm run build`, esbuild
 * missing): the caller then runs the sources under tsx, and the reason goes to stderr.
 */
export async function prepareDist() {
  const main = pathToFileURL(join(DIST, 'main.js')).href;
  try {
    const files = sources();
    const stamp = stampOf(files);
    if (readStamp() === stamp) return main;
    await buildDist(files, stamp);
    return main;
  } catch (err) {
    // Another process may have built the same sources meanwhile.
    try {
      if (readStamp() === stampOf(sources())) return main;
    } catch {
      // Fall through to the message below.
    }
    process.stderr.write(`iris: running the TypeScript sources under tsx: could not build dist/ (${err.message}); run \`npm run build\` as the owner of ${ROOT}\n`);
    return undefined;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const stamp = await buildDist();
  process.stdout.write(`dist/ built from the sources (${stamp.slice(0, 12)})\n`);
}
