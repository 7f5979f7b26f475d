/**
 * A throwaway RabbitMQ (Debian's `rabbitmq-server`) for tests: its own node name, AMQP port,
 * Erlang distribution port and private epmd (free ports, so several test files and workers
 * never collide), its own mnesia/log/config dir and Erlang cookie (HOME) in a temp dir, no
 * plugins (no management listener). `kill()` takes it down hard (a broker crash) and `start()`
 * brings it back on the same port and data; `stop()` ends it for good and removes the dir.
 *
 * @example
 *   const rabbit = await startRabbitOrSkip(t); if (rabbit === undefined) return;
 *   t.after(() => rabbit.stop());
 *   const conn = await amqp.connect(rabbit.url);
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { freePort } from './iris-server.js';
import { assertBinaries, removeDir, spawnServer, waitUntilReady, type ServerProcess } from './sql-server.js';

export const RABBITMQ_SERVER = process.env.IRIS_TEST_RABBITMQ_SERVER ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = process.env.IRIS_TEST_EPMD ?? '/usr/bin/epmd';

export interface RabbitServer {
  /** `amqp://guest:guest@127.0.0.1:<port>/` (guest may log in from loopback). */
  readonly url: string;
  readonly port: number;
  /** The running broker's process id (its Erlang VM), for CPU accounting; undefined while down. */
  pid(): number | undefined;
  /** Brings a killed broker back on the same port and data dir; waits until it takes connections. */
  start(): Promise<void>;
  /** SIGKILL to the broker (a crash); its port refuses connections until start(). */
  kill(): Promise<void>;
  /** Ends the broker and its epmd, removes the temp dir; idempotent. */
  stop(): Promise<void>;
  logs(): string;
}

export interface RabbitOptions {
  /**
   * Extra flags for the broker's Erlang VM (RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS), e.g. `+S 1:1`
   * (one scheduler thread: bench/notifications.ts, a broker sharing two cores with what it measures).
   */
  readonly erlArgs?: string;
}

/** Starts a broker; throws (after cleaning up) when it cannot. */
export async function startRabbit(opts: RabbitOptions = {}): Promise<RabbitServer> {
  assertBinaries('RabbitMQ', [RABBITMQ_SERVER, EPMD]);
  const dir = mkdtempSync(join(tmpdir(), 'iris-rabbit-'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const node = `iris${process.pid}x${port}@localhost`;
  for (const sub of ['mnesia', 'log', 'home']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users.guest = true\ndisk_free_limit.absolute = 1MB\n');
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(dir, 'home'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    ...(opts.erlArgs === undefined ? {} : { RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: opts.erlArgs }),
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}/`;
  let server: ServerProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    server = spawnServer(RABBITMQ_SERVER, [], { cwd: dir, env });
    await waitUntilReady(server, 'rabbitmq-server', async () => {
      const conn = await amqp.connect(url);
      await conn.close();
    }, 120_000);
  };
  const stopEpmd = async (): Promise<void> => {
    await promisify(execFile)(EPMD, ['-port', String(epmdPort), '-kill'], { env }).catch(() => undefined);
  };

  try {
    await launch();
  } catch (err) {
    await server?.kill('SIGKILL');
    await stopEpmd();
    removeDir(dir);
    throw err;
  }
  return {
    url,
    port,
    pid: () => (server === undefined || server.exited() ? undefined : server.child.pid),
    start: launch,
    async kill() {
      await server?.kill('SIGKILL');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server?.kill('SIGTERM', 15_000);
      } finally {
        await stopEpmd();
        removeDir(dir);
      }
    },
    logs: () => server?.logs() ?? '',
  };
}

/**
 * A broker, or a LOUD skip (t.skip plus a console line) when it cannot start; with CI=true the
 * failure propagates instead.
 */
export async function startRabbitOrSkip(t: TestContext): Promise<RabbitServer | undefined> {
  try {
    return await startRabbit();
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`${(err as Error).message} — CI=true, so a broker that cannot start is a failure`, { cause: err });
    }
    const message = `SKIP: ${(err as Error).message} (apt-get install -y --no-install-recommends rabbitmq-server)`;
    console.error(`\n*** ${message} ***\n`);
    t.skip(message);
    return undefined;
  }
}
