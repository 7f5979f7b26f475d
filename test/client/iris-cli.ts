/**
 * Runs the `iris` CLI as a user would: `node bin/iris.js …` in a child process, hermetic
 * (private HOME, no inherited OS_*), pointed at `baseUrl` through OS_IMAGE_URL/OS_AUTH_TOKEN.
 *
 * @example
 *   const r = await iris(baseUrl, home, ['image-list', '-f', 'json']);
 *   assert.equal(r.code, 0, r.describe());
 */
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/iris-server.js';

export const IRIS_BIN = join(REPO_ROOT, 'bin', 'iris.js');

export function iris(
  baseUrl: string,
  home: string,
  args: readonly string[],
  extra: { input?: Uint8Array | string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return runCli(process.execPath, [IRIS_BIN, ...args], {
    home,
    input: extra.input,
    timeoutMs: extra.timeoutMs,
    env: { OS_IMAGE_URL: baseUrl, OS_AUTH_TOKEN: 'dummy', ...extra.env },
  });
}

/** The `DEBUG: peak RSS <n> KiB` line `--debug` prints at exit, in KiB. */
export function peakRssKiB(result: CliResult): number {
  const m = /DEBUG: peak RSS (\d+) KiB/.exec(result.stderr);
  if (m === null) throw new Error(`no peak RSS line in stderr${result.describe()}`);
  return Number(m[1]);
}
