/**
 * Runs the real iris-api entry point (bin/iris-api.js) for start-up checks that should end
 * without serving: resolves with its exit status and output. A process that starts serving
 * instead is killed as soon as it says so, and reported with `served: true`, so a regression
 * fails the test rather than hanging it.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './iris-server.js';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The server started listening (and was then killed). */
  readonly served: boolean;
}

export function runIris(args: readonly string[], env: Record<string, string>, cwd = REPO_ROOT): Promise<RunResult> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('IRIS_') || k === 'NODE_TEST_CONTEXT') continue;
    childEnv[k] = v;
  }
  Object.assign(childEnv, { IRIS_PORT: '0', ...env });
  // The installed launcher (it registers tsx itself), so any working directory works.
  const main = `${REPO_ROOT}bin/iris-api.js`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let served = false;
    const watch = (): void => {
      if (!served && /Iris listening/.test(stdout + stderr)) {
        served = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      watch();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      watch();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, served }));
  });
}
