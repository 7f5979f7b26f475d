/**
 * The reference Glance for the conformance harness: ../shared/peer-glance/start.sh (beside the
 * repository) in Iris's current configuration — one filesystem store, no import methods, no
 * cache — fresh on every start, state under $TMPDIR/peer-glance-conformance.
 *
 * @example
 *   const peer = await startPeer(await freePort());
 *   try { … peer.baseUrl … } finally { await peer.stop(); }
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../helpers/iris-server.js';

export const PEER_DIR = resolve(REPO_ROOT, '../shared/peer-glance');
/** What start.sh runs; the Debian package glance-api provides it. */
export const GLANCE_API = '/usr/bin/glance-api';
export const STATE_DIR = join(tmpdir(), 'peer-glance-conformance');

export interface Peer {
  readonly baseUrl: string;
  readonly stateDir: string;
  stop(): Promise<void>;
}

/** Why the peer cannot run here, or undefined when it can. */
export function peerUnavailable(): string | undefined {
  try {
    accessSync(GLANCE_API, constants.X_OK);
    accessSync(join(PEER_DIR, 'start.sh'), constants.R_OK);
    return undefined;
  } catch (err) {
    return `${(err as NodeJS.ErrnoException).path ?? String(err)} is missing (install the Debian package glance-api)`;
  }
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    // shared/ has no write or exec bits for us: run the scripts through bash, in place.
    const child = spawn('bash', [join(PEER_DIR, script)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

export async function startPeer(port: number): Promise<Peer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PEER_GLANCE_DIR: STATE_DIR,
    PEER_GLANCE_PORT: String(port),
    PEER_GLANCE_BACKENDS: '',
    PEER_GLANCE_IMPORT_METHODS: '',
    PEER_GLANCE_CACHE: '0',
    PEER_GLANCE_FRESH: '1',
  };
  const stop = async (): Promise<void> => {
    await runScript('stop.sh', { ...process.env, PEER_GLANCE_DIR: STATE_DIR });
  };
  const started = await runScript('start.sh', env);
  if (started.code !== 0) {
    await stop();
    throw new Error(`peer Glance did not start (start.sh exit ${started.code}):\n${started.output}`);
  }
  return { baseUrl: `http://127.0.0.1:${port}`, stateDir: STATE_DIR, stop };
}
