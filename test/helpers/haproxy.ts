/**
 * A throwaway HAProxy (Debian's `haproxy`) in front of test servers: a temp dir holding the
 * config and an admin stats socket, one HTTP frontend on 127.0.0.1 and a free port, one
 * roundrobin backend whose servers are health-checked with `HEAD /healthcheck` (Glance's
 * oslo.middleware check, which Iris serves). Every answer carries `X-Served-By: <server name>`
 * so a test can see which node served it. HAProxy sets `X-Forwarded-Proto` and drops the proxy
 * headers a client sends; with `tls` it also terminates TLS on a second port (self-signed
 * certificate for localhost). stop() kills HAProxy's process group and removes the dir.
 *
 * @example
 *   if (!requireHaproxy()) return;                      // loud SKIP locally, failure with CI=true
 *   const lb = await startHaproxy({ servers: [{ name: 'node1', port: 9292 }] });
 *   after(() => lb.stop());
 *   await lb.waitForState('node1', 'UP');
 *   const r = await fetch(`${lb.baseUrl}/v2/images`);  // r.headers.get('x-served-by') === 'node1'
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './iris-server.js';
import { removeDir, spawnServer, waitUntilReady, type ServerProcess } from './sql-server.js';

export const HAPROXY = process.env.IRIS_TEST_HAPROXY ?? '/usr/sbin/haproxy';

/** The header naming the backend server that answered (HAProxy's `%s`). */
export const SERVED_BY = 'x-served-by';

/**
 * True when the haproxy binary is there. Otherwise prints a loud `SKIP: …` and returns false,
 * or throws when `CI=true` (CI installs it: .ci/run).
 */
export function requireHaproxy(): boolean {
  try {
    accessSync(HAPROXY, constants.X_OK);
    return true;
  } catch (err) {
    const message = `SKIP: haproxy not installed (${HAPROXY}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; Debian package haproxy)`;
    if (process.env.CI === 'true') throw new Error(`${message} — CI=true, so a missing tool is a failure (see .ci/run)`);
    console.error(`\n*** ${message} ***\n`);
    return false;
  }
}

export interface BackendServer {
  /** HAProxy's name for it (letters, digits, -_.). */
  readonly name: string;
  readonly port: number;
  readonly host?: string;
}

export interface HaproxyOptions {
  readonly servers: readonly BackendServer[];
  /** Extra lines for the frontend section. */
  readonly frontendLines?: readonly string[];
  /** Also terminate TLS on a second port, with a self-signed certificate for localhost (made with openssl). */
  readonly tls?: boolean;
}

/** One line of `show stat` for a backend server. */
export interface ServerStat {
  readonly name: string;
  /** UP, DOWN, MAINT, `UP 1/2` (going down), `DOWN 1/2` (going up), NOLB… */
  readonly status: string;
  /** Result of the last check: L7OK, L4CON (refused), L7STS (bad status), L4TOUT… or '' before one ran. */
  readonly checkStatus: string;
  /** Requests sent to it so far (HTTP responses counted by HAProxy). */
  readonly sessions: number;
}

export interface Haproxy {
  /** http://127.0.0.1:PORT of the frontend. */
  readonly baseUrl: string;
  readonly port: number;
  /** https://localhost:PORT of the TLS port (with `tls`; its certificate is self-signed). */
  readonly tlsBaseUrl?: string;
  /** The haproxy.cfg it runs (the same text docs/deployment.md shows). */
  readonly config: string;
  /** `show stat` of the backend's servers, over the admin socket. */
  stats(): Promise<ServerStat[]>;
  /**
   * Polls until server `name` is in `state` (UP: a check passed and it takes traffic; DOWN: its
   * checks failed), for up to `timeoutMs` (a generous bound, not a timing assumption).
   */
  waitForState(name: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<ServerStat>;
  logs(): string;
  /** Kills HAProxy (SIGTERM, SIGKILL after 5 s) and removes its dir; idempotent. */
  stop(): Promise<void>;
}

const SERVER_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The configuration: per-request roundrobin, `HEAD /healthcheck` every 500 ms (down after 2
 * failures, up after 1 success), a connection a server refuses retried at once on another one
 * (`option redispatch 1`: every retry, not only the last), and no kept-alive server connections
 * (`http-server-close`): each request opens its own, so a node that stops listening (draining)
 * is never handed a request over an old connection. The proxy headers the nodes trust (enable_proxy_headers_parsing) are
 * set here and never taken from the client.
 */
export function haproxyConfig(opts: {
  port: number;
  socket: string;
  servers: readonly BackendServer[];
  frontendLines?: readonly string[];
  tls?: { port: number; pem: string };
}): string {
  for (const s of opts.servers) if (!SERVER_NAME.test(s.name)) throw new Error(`bad server name ${s.name}`);
  return [
    'global',
    `    stats socket ${opts.socket} mode 600 level admin`,
    '    maxconn 2000',
    '',
    'defaults',
    '    mode http',
    '    option http-server-close',
    '    option redispatch 1',
    '    retries 3',
    '    timeout connect 5s',
    // Image transfers are long; a check under load may be slow.
    '    timeout client 10m',
    '    timeout server 10m',
    '    timeout check 10s',
    '',
    'frontend images',
    `    bind 127.0.0.1:${opts.port}`,
    ...(opts.tls === undefined ? [] : [`    bind 127.0.0.1:${opts.tls.port} ssl crt ${opts.tls.pem}`]),
    '    option forwardfor',
    '    http-request del-header Forwarded',
    '    http-request del-header X-Forwarded-Host',
    '    http-request set-header X-Forwarded-Proto https if { ssl_fc }',
    '    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }',
    ...(opts.frontendLines ?? []).map((l) => `    ${l}`),
    '    http-response set-header X-Served-By %s',
    '    default_backend iris',
    '',
    'backend iris',
    '    balance roundrobin',
    '    option httpchk HEAD /healthcheck',
    '    default-server inter 500ms fall 2 rise 1',
    ...opts.servers.map((s) => `    server ${s.name} ${s.host ?? '127.0.0.1'}:${s.port} check`),
    '',
  ].join('\n');
}

/** Starts HAProxy; throws (after cleaning up) when it cannot. */
export async function startHaproxy(opts: HaproxyOptions): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const cfgPath = join(dir, 'haproxy.cfg');
  let server: ServerProcess | undefined;
  let config = '';
  let port = 0;
  let tls: { port: number; pem: string } | undefined;
  try {
    if (opts.tls === true) tls = { port: 0, pem: selfSignedPem(dir) };
    // A free port can be taken between freePort() and haproxy binding it: retry on a new one.
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      if (tls !== undefined) tls = { ...tls, port: await freePort() };
      config = haproxyConfig({ port, socket, servers: opts.servers, frontendLines: opts.frontendLines, tls });
      writeFileSync(cfgPath, config);
      // -db: foreground, logs on stderr; -W: master-worker, so SIGTERM to the group stops all.
      server = spawnServer(HAPROXY, ['-W', '-db', '-f', cfgPath], { cwd: dir });
      try {
        await waitUntilReady(server, 'haproxy', () => Promise.all([adminCommand(socket, 'show info'), tcpProbe(port)]).then(() => undefined), 30_000);
        break;
      } catch (err) {
        await server.kill('SIGKILL');
        if (attempt >= 3 || !/cannot bind|Address already in use/i.test(server.logs())) throw err;
      }
    }
  } catch (err) {
    try {
      await server?.kill('SIGKILL');
    } finally {
      removeDir(dir);
    }
    throw err;
  }
  const running = server;
  const stats = async (): Promise<ServerStat[]> => parseStats(await adminCommand(socket, 'show stat'));
  let stopped = false;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    ...(tls === undefined ? {} : { tlsBaseUrl: `https://localhost:${tls.port}` }),
    config,
    stats,
    async waitForState(name, state, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ServerStat | undefined;
      while (Date.now() < deadline) {
        last = (await stats()).find((s) => s.name === name);
        // UP only once a check has passed (HAProxy starts servers as UP before checking them).
        if (last !== undefined && last.status === state && (state === 'DOWN' || last.checkStatus === 'L7OK')) return last;
        await sleep(100);
      }
      throw new Error(`haproxy: server ${name} not ${state} within ${timeoutMs} ms (last: ${JSON.stringify(last)})\n${running.logs()}`);
    },
    logs: () => running.logs(),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await running.kill('SIGTERM');
      } finally {
        removeDir(dir);
      }
    },
  };
}

/** A key and a self-signed certificate for localhost in one PEM file (HAProxy's `crt`). */
function selfSignedPem(dir: string): string {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], {
    stdio: 'pipe',
  });
  const pem = join(dir, 'localhost.pem');
  writeFileSync(pem, `${readFileSync(cert, 'utf8')}${readFileSync(key, 'utf8')}`);
  return pem;
}

/** The backend servers' lines of `show stat` (CSV with a `# ` header line). */
export function parseStats(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`haproxy show stat: no ${name} column in ${lines[0]}`);
    return i;
  };
  const [px, sv, status, check, stot] = [col('pxname'), col('svname'), col('status'), col('check_status'), col('stot')];
  return lines
    .slice(1)
    .map((l) => l.split(','))
    .filter((f) => f[px] === 'iris' && f[sv] !== 'BACKEND')
    .map((f) => ({ name: f[sv] ?? '', status: f[status] ?? '', checkStatus: f[check] ?? '', sessions: Number(f[stot] ?? 0) }));
}

/** One command on the admin socket; resolves with the answer. */
function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = '';
    c.setTimeout(10_000, () => c.destroy(new Error(`haproxy admin socket: no answer to ${command}`)));
    c.on('connect', () => c.end(`${command}\n`));
    c.on('data', (d: Buffer) => (out += d.toString('utf8')));
    c.on('error', reject);
    c.on('close', () => resolve(out));
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
function tcpProbe(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    c.on('connect', () => {
      c.destroy();
      resolve();
    });
    c.on('error', reject);
  });
}
