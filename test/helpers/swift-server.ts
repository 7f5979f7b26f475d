/**
 * A real OpenStack Swift for the store tests: Debian's swift 2.30 as one node with one replica on
 * 127.0.0.1, in a temp directory, on free ports, with tempauth (accounts `test` and `test2`),
 * s3api (SigV4, path style, region us-east-1), SLO and DLO. test/helpers/swift/swift-node.py
 * writes the configs and rings and runs each server; this helper starts memcached and the four
 * servers, waits until each answers, proves tempauth, and stops exactly the processes it started.
 * Start takes about 5–10 s on this machine, so a test file starts one and shares it.
 *
 * @example
 *   if (!requireSwift()) return;                   // loud SKIP locally, failure with CI=true
 *   const swift = await startSwift();
 *   after(() => swift.stop());
 *   const { storageUrl, token } = await swift.auth();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './iris-server.js';

/** Debian's swift modules are installed for the system interpreter, not a pyenv shim on PATH. */
const PYTHON = '/usr/bin/python3';
const MEMCACHED = '/usr/bin/memcached';
const LAUNCHER = join(REPO_ROOT, 'test/helpers/swift/swift-node.py');
const SERVERS = ['account-server', 'container-server', 'object-server', 'proxy-server'] as const;

export interface SwiftAccount {
  /** tempauth user, `account:user`. */
  readonly user: string;
  readonly key: string;
  /** The Swift account (`AUTH_<account>`). */
  readonly account: string;
}

export interface SwiftServer {
  /** tempauth's v1 auth URL, `http://127.0.0.1:PORT/auth/v1.0`. */
  readonly authUrl: string;
  /** The proxy's base URL, also the S3 endpoint (path style, region us-east-1). */
  readonly s3Endpoint: string;
  /** The main test account: `AUTH_test`, user `test:tester`, key `testing`. */
  readonly account: string;
  readonly user: string;
  readonly key: string;
  /** s3api's credentials for the main account (tempauth's `account:user` and key). */
  readonly s3AccessKey: string;
  readonly s3SecretKey: string;
  /**
   * A colon-free S3 access key for the same user (secret `s3SecretKey`), for glance_store's S3
   * driver, which splits the keys in its locations at the colon (test/helpers/swift/s3_key_alias.py).
   */
  readonly s3AccessKeyAlias: string;
  /** A second account (`test2:tester2`), for tests that need two tenants. */
  readonly second: SwiftAccount;
  readonly proxyPort: number;
  readonly dir: string;
  /** The process ids this helper started (memcached and the four servers). */
  readonly pids: readonly number[];
  /** Authenticates with tempauth (v1) as `user` (default: the main account). */
  auth(account?: Pick<SwiftAccount, 'user' | 'key'>): Promise<{ storageUrl: string; token: string }>;
  /** Makes tempauth forget `token` (deletes it from memcached): its next use gets 401. */
  revokeToken(token: string): Promise<void>;
  /** The tail of every server log, for failure messages. */
  logs(): string;
  /** Stops the processes this helper started (SIGTERM, SIGKILL after 10 s) and removes the dir. Idempotent. */
  stop(): Promise<void>;
}

export interface SwiftOptions {
  /** tempauth `token_life` in seconds (default 86400). */
  readonly tokenLife?: number;
}

/**
 * True when /usr/bin/python3 can import Debian's swift servers and memcached is installed.
 * Otherwise prints a loud `SKIP: …` and returns false, or throws when `CI=true`.
 */
export function requireSwift(): boolean {
  let why: string | undefined;
  if (!existsSync(MEMCACHED)) why = `${MEMCACHED} missing (package memcached)`;
  else if (!existsSync(PYTHON)) why = `${PYTHON} missing`;
  else {
    const probe = spawnSync(PYTHON, ['-c', 'import swift.proxy.server, swift.obj.server, swift.account.server, swift.container.server'], {
      encoding: 'utf8',
    });
    if (probe.status !== 0) {
      why = `${PYTHON} cannot import swift (packages swift swift-proxy swift-account swift-container swift-object): ${probe.stderr.trim().split('\n').pop() ?? probe.error}`;
    }
  }
  if (why === undefined) return true;
  const message = `SKIP: Swift not available: ${why}`;
  if (process.env.CI === 'true') throw new Error(`${message} — CI=true, so a missing tool is a failure (see .ci/run)`);
  console.error(`\n*** ${message} ***\n`);
  return false;
}

// Safety net: a crashed test must not leave a Swift running. Each server leads its own process group.
const live = new Map<number, string>();
process.on('exit', () => {
  for (const [pid, dir] of live) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `count` distinct free loopback ports, all held open while they are chosen so none repeats. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** Sends one memcached text-protocol command and returns the first reply line. */
function memcachedCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

interface Started {
  readonly proc: ChildProcess;
  readonly name: string;
  exited: boolean;
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts a Swift node. Ports are chosen free just before start; when another process takes one
 * in between, the start is retried on new ports (three attempts).
 */
export async function startSwift(opts: SwiftOptions = {}): Promise<SwiftServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (error) {
      if (attempt >= 3 || !/Address already in use|EADDRINUSE/i.test(String(error))) throw error;
    }
  }
}

async function startOnce(opts: SwiftOptions): Promise<SwiftServer> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-swift-'));
  const [proxyPort, accountPort, containerPort, objectPort, memcachedPort] = (await freePorts(5)) as [number, number, number, number, number];
  const started: Started[] = [];
  const logDir = join(dir, 'log');
  const logs = (): string =>
    existsSync(logDir)
      ? readdirSync(logDir)
          .map((f) => `--- ${f}\n${tail(join(logDir, f))}`)
          .join('\n')
      : '';

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const waitAll = (ms: number) =>
      Promise.race([
        Promise.all(started.map((s) => (s.exited ? undefined : new Promise((resolve) => s.proc.once('exit', resolve))))),
        sleep(ms),
      ]);
    for (const s of started) if (!s.exited) signalGroup(s.proc.pid!, 'SIGTERM');
    await waitAll(10_000);
    for (const s of started) if (!s.exited) signalGroup(s.proc.pid!, 'SIGKILL');
    await waitAll(5_000);
    for (const s of started) live.delete(s.proc.pid!);
    rmSync(dir, { recursive: true, force: true });
  };

  const launch = (name: string, command: string, args: string[]): void => {
    const out = openSync(join(logDir, `${name}.stdout`), 'a');
    // detached: each server leads its own process group, so stop() reaches it and nothing else.
    const proc = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    const entry: Started = { proc, name, exited: false };
    proc.once('exit', () => {
      entry.exited = true;
    });
    started.push(entry);
    if (proc.pid !== undefined) live.set(proc.pid, dir);
  };

  try {
    const prepare = spawnSync(
      PYTHON,
      [LAUNCHER, 'prepare', dir, ...[proxyPort, accountPort, containerPort, objectPort, memcachedPort].map(String), String(opts.tokenLife ?? 86400)],
      { encoding: 'utf8' },
    );
    if (prepare.status !== 0) throw new Error(`swift-node.py prepare failed: ${prepare.stderr || prepare.error}`);

    const memcachedArgs = ['-l', '127.0.0.1', '-p', String(memcachedPort), '-U', '0', '-m', '64', '-c', '1024'];
    if (process.getuid?.() === 0) memcachedArgs.push('-u', userInfo().username); // memcached refuses to run as root without -u
    launch('memcached', MEMCACHED, memcachedArgs);
    for (const name of SERVERS) launch(name, PYTHON, [LAUNCHER, 'serve', name, dir]);

    // Ready when every server answers its healthcheck and memcached takes a command.
    const deadline = Date.now() + 90_000;
    const ports = [accountPort, containerPort, objectPort, proxyPort];
    const waitUntil = async (what: string, ready: () => Promise<boolean>): Promise<void> => {
      for (;;) {
        const dead = started.find((s) => s.exited);
        if (dead !== undefined) throw new Error(`Swift's ${dead.name} exited during start`);
        if (await ready().catch(() => false)) return;
        if (Date.now() > deadline) throw new Error(`Swift's ${what} did not answer within 90 s`);
        await sleep(200);
      }
    };
    await waitUntil('memcached', async () => (await memcachedCommand(memcachedPort, 'version')).startsWith('VERSION'));
    for (const [i, port] of ports.entries()) {
      await waitUntil(SERVERS[i]!, async () => (await fetch(`http://127.0.0.1:${port}/healthcheck`)).ok);
    }
  } catch (error) {
    const message = `${(error as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message, { cause: error });
  }

  const authUrl = `http://127.0.0.1:${proxyPort}/auth/v1.0`;
  const main = { user: 'test:tester', key: 'testing', account: 'AUTH_test' };
  const auth = async (who: Pick<SwiftAccount, 'user' | 'key'> = main) => {
    const res = await fetch(authUrl, { headers: { 'x-auth-user': who.user, 'x-auth-key': who.key } });
    await res.arrayBuffer();
    const storageUrl = res.headers.get('x-storage-url');
    const token = res.headers.get('x-auth-token');
    if (res.status !== 200 || storageUrl === null || token === null) throw new Error(`tempauth as ${who.user}: ${res.status}`);
    return { storageUrl, token };
  };
  try {
    await auth();
  } catch (error) {
    const message = `${(error as Error).message}\n${logs()}`;
    await stop();
    throw new Error(message, { cause: error });
  }

  return {
    authUrl,
    s3Endpoint: `http://127.0.0.1:${proxyPort}`,
    ...main,
    s3AccessKey: main.user,
    s3SecretKey: main.key,
    s3AccessKeyAlias: 'test-tester',
    second: { user: 'test2:tester2', key: 'testing2', account: 'AUTH_test2' },
    proxyPort,
    dir,
    pids: started.map((s) => s.proc.pid!),
    auth,
    async revokeToken(token) {
      // Swift's memcache client stores every key under its md5; tempauth's key is `AUTH_/token/<token>`.
      const key = createHash('md5').update(`AUTH_/token/${token}`).digest('hex');
      const reply = await memcachedCommand(memcachedPort, `delete ${key}`);
      if (reply !== 'DELETED') throw new Error(`memcached delete of token ${token}: ${reply}`);
    },
    logs,
    stop,
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
