/**
 * The reference Glance for the conformance harness: ../shared/peer-glance/start.sh (beside the
 * repository) in the configuration transcript.md was recorded in — multi-store (`local`, the
 * default, and `local2`), the three import methods (glance-direct, web-download, copy-image) —
 * with the image cache off on both sides (the cache API and the v2.14–v2.16 version list it brings
 * are covered by test/cache/cache-api.test.ts, see docs/cache.md). Fresh on every start.
 *
 * State dir: `PEER_GLANCE_DIR` when set, else a new temp dir per run (removed by stop()), so
 * concurrent runs never share one. Port: `PEER_GLANCE_PORT` when set, else the one given.
 *
 * @example
 *   const peer = await startPeer(await freePort(), { webDownloadPorts: [80, 443, wdPort] });
 *   try { … peer.baseUrl … } finally { await peer.stop(); }
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../helpers/iris-server.js';

export const PEER_DIR = resolve(REPO_ROOT, '../shared/peer-glance');
/** What start.sh runs; the Debian package glance-api provides it. */
export const GLANCE_API = '/usr/bin/glance-api';

/** The stores and import methods both servers run with (first store = default). */
export const STORES = ['local', 'local2'] as const;
export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image'] as const;

export interface Peer {
  readonly baseUrl: string;
  readonly stateDir: string;
  stop(): Promise<void>;
}

export interface PeerOptions {
  /** [import_filtering_opts] allowed_ports (Glance default 80, 443). */
  readonly webDownloadPorts?: readonly number[];
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

function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    // shared/ has no write or exec bits for us: run the scripts through bash, in place.
    const child = spawn('bash', [join(PEER_DIR, script), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

export async function startPeer(port: number, opts: PeerOptions = {}): Promise<Peer> {
  const ownDir = process.env.PEER_GLANCE_DIR === undefined || process.env.PEER_GLANCE_DIR === '';
  const stateDir = ownDir ? mkdtempSync(join(tmpdir(), 'peer-glance-conformance-')) : (process.env.PEER_GLANCE_DIR as string);
  const peerPort = process.env.PEER_GLANCE_PORT ? Number(process.env.PEER_GLANCE_PORT) : port;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PEER_GLANCE_DIR: stateDir,
    PEER_GLANCE_PORT: String(peerPort),
    PEER_GLANCE_BACKENDS: STORES.join(','),
    PEER_GLANCE_IMPORT_METHODS: IMPORT_METHODS.join(','),
    PEER_GLANCE_WEB_DOWNLOAD_PORTS: (opts.webDownloadPorts ?? [80, 443]).join(','),
    PEER_GLANCE_CACHE: '0',
    PEER_GLANCE_FRESH: '1',
  };
  const stop = async (): Promise<void> => {
    // A temp dir of our own goes with the server; a given one is kept for inspection.
    await runScript('stop.sh', ownDir ? ['--purge'] : [], { ...process.env, PEER_GLANCE_DIR: stateDir });
  };
  const started = await runScript('start.sh', [], env);
  if (started.code !== 0) {
    await stop();
    throw new Error(`peer Glance did not start (start.sh exit ${started.code}):\n${started.output}`);
  }
  return { baseUrl: `http://127.0.0.1:${peerPort}`, stateDir, stop };
}
