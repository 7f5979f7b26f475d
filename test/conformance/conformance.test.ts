/**
 * Runs the conformance harness (`npm run conformance`) as part of `npm test`: the real Glance
 * and Iris side by side, every answer compared, exit 0 only when every difference is one that
 * docs/conformance.md lists as intended. Needs the Debian package glance-api (start.sh also
 * uses python3-glanceclient, python3-openstackclient and curl): without /usr/bin/glance-api a
 * loud SKIP, or a failure when CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/iris-server.js';
import { requireTool } from '../helpers/tools.js';
import { GLANCE_API, PEER_DIR } from './peer-glance.js';

// The peer's scripts live in the project's shared directory beside the checkout, which a clone
// elsewhere does not have; nothing can install it, so its absence is a loud skip (CI too).
const haveScripts = existsSync(join(PEER_DIR, 'start.sh'));
if (!haveScripts) console.error(`\n*** SKIP conformance: ${PEER_DIR}/start.sh not found (no shared/ directory beside this checkout) ***\n`);
const havePeer = haveScripts && requireTool('glance-api (the peer Glance for the conformance harness)', GLANCE_API);
const skip = !haveScripts ? `${PEER_DIR} not found` : !havePeer && 'glance-api not installed';

test('Iris answers like Glance 25.1.0 (npm run conformance)', { skip, timeout: 300_000 }, async () => {
  const env = { ...process.env };
  // Set by `node --test` for its own subprocesses; the harness is not a test file.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/conformance.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  console.log(`${stderr}${stdout}`);
  assert.equal(code, 0, `conformance harness exited ${code}; its report is printed above`);
});
