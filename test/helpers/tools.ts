/**
 * External tools the integration tests drive (Debian's glance/openstack CLIs). A missing tool
 * is a loud skip on a developer machine and a failure in CI (CI=true), so CI can never go
 * green by silently skipping the client tests. npm test never installs anything itself.
 *
 * @example
 *   const haveGlance = requireTool('glance', GLANCE);
 *   test('lifecycle', { skip: !haveGlance && 'glance not installed' }, async () => { … });
 */
import { accessSync, constants } from 'node:fs';

/** The Debian CLIs: they run on /usr/bin/python3, not on whatever python3 is first on PATH. */
export const GLANCE = '/usr/bin/glance';
export const OPENSTACK = '/usr/bin/openstack';

/**
 * True when `path` is an executable file. Otherwise prints `SKIP: …` and returns false, or
 * throws when `process.env.CI === 'true'`.
 */
export function requireTool(name: string, path: string): boolean {
  let why: string;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch (err) {
    why = (err as NodeJS.ErrnoException).code ?? String(err);
  }
  const message = `SKIP: ${name} not installed (${path}): ${why}`;
  if (process.env.CI === 'true') {
    throw new Error(`${message} — CI=true, so a missing tool is a failure (see .ci/run)`);
  }
  // Loud on purpose: the test runner's own "skipped" count is easy to miss.
  console.error(`\n*** ${message} ***\n`);
  return false;
}
