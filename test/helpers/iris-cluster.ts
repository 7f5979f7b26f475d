/**
 * Several Iris nodes as one service, as docs/deployment.md describes it: one throwaway
 * PostgreSQL, N Iris processes (each its own port and data dir) sharing that database, one
 * filesystem store directory and one staging directory, and HAProxy in front of them
 * (roundrobin, `HEAD /healthcheck` checks). Started once per test file; stop() stops
 * everything (also after a failed start).
 *
 * @example
 *   const cluster = await startIrisCluster({ nodes: 3 });
 *   after(() => cluster.stop());
 *   await fetch(`${cluster.baseUrl}/v2/images`, { headers: cluster.headers });
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { freePort, startIris, type IrisProcess } from './iris-server.js';
import { startPostgres } from './postgres-server.js';
import type { SqlServer } from './sql-server.js';

/** Admin of project p1 through Iris's `peer:` token shim (no Keystone needed). */
export const CLUSTER_TOKEN = 'peer:p1:admin,member,reader';

export interface ClusterOptions {
  /** How many Iris nodes (default 3). */
  readonly nodes?: number;
  /** Extra INI text appended to every node's config file (whole sections). */
  readonly extraConfig?: string;
  /** Extra lines for HAProxy's frontend. */
  readonly frontendLines?: readonly string[];
  /** HAProxy also terminates TLS (lb.tlsBaseUrl). */
  readonly tls?: boolean;
  /**
   * Each node stages glance-direct data in its own directory (under its data dir) instead of the
   * shared one: the node-local staging of `[DEFAULT] worker_self_reference_url`.
   */
  readonly localStaging?: boolean;
  /**
   * Extra INI text for one node, given its name and URL (e.g. `worker_self_reference_url`). When
   * set, each node's port is chosen before it starts (racy: a taken port is retried).
   */
  readonly perNodeConfig?: (node: { readonly name: string; readonly url: string }) => string;
  /** An already running database to use (not stopped by stop()); default a new PostgreSQL. */
  readonly database?: SqlServer;
}

export interface ClusterNode {
  /** HAProxy's name for it: node1, node2, … */
  readonly name: string;
  readonly iris: IrisProcess;
  /** Its `[healthcheck] disable_by_file_path`: while this file exists its health check answers 503. */
  readonly disableFile: string;
  /** Its staging directory: the shared one, or its own with localStaging. */
  readonly stagingDir: string;
}

export interface IrisCluster {
  /** The service's URL: HAProxy's frontend. */
  readonly baseUrl: string;
  readonly nodes: readonly ClusterNode[];
  readonly lb: Haproxy;
  readonly db: SqlServer;
  /** The shared filesystem store ([glance_store] filesystem_store_datadir of every node). */
  readonly storeDir: string;
  /** The shared staging directory ([DEFAULT] node_staging_uri of every node; unused with localStaging). */
  readonly stagingDir: string;
  /** Headers that authenticate as CLUSTER_TOKEN. */
  readonly headers: Readonly<Record<string, string>>;
  /** The node HAProxy calls `name`. */
  node(name: string): ClusterNode;
  /** HAProxy's log and every node's log tail, for failure messages. */
  logs(): string;
  /** Stops HAProxy, the nodes (SIGTERM) and the database it started; removes the shared dirs. Idempotent. */
  stop(): Promise<void>;
}

/** PostgreSQL or HAProxy could not be started (not installed, not runnable here): a skip outside CI. */
export class ClusterDependencyError extends Error {}

/**
 * startIrisCluster, or `{ skip }` with the reason printed LOUDLY when PostgreSQL or HAProxy
 * cannot be started and CI is not set; with CI=true that failure propagates. A node that
 * fails to start always fails.
 *
 * @example
 *   before(async () => { started = await startClusterOrSkip({ nodes: 3 }); });
 *   test('x', async (t) => { const cluster = clusterOrSkip(t, started); if (cluster === undefined) return; … });
 */
export async function startClusterOrSkip(opts: ClusterOptions = {}): Promise<IrisCluster | { readonly skip: string }> {
  try {
    return await startIrisCluster(opts);
  } catch (err) {
    if (!(err instanceof ClusterDependencyError) || process.env.CI === 'true') throw err;
    const skip = `SKIP: ${err.message}`;
    console.error(`\n*** ${skip} ***\n`);
    return { skip };
  }
}

/** The started cluster, or undefined after marking test `t` skipped with the reason. */
export function clusterOrSkip(t: TestContext, started: IrisCluster | { readonly skip: string } | undefined): IrisCluster | undefined {
  if (started === undefined) throw new Error('the cluster was not started (before() failed)');
  if ('skip' in started) {
    t.skip(started.skip);
    return undefined;
  }
  return started;
}

/** One node's config file: the shared database, store and staging directory. */
export function nodeConfig(opts: { databaseUrl: string; storeDir: string; stagingDir: string; disableFile: string; extra?: string }): string {
  return [
    '[DEFAULT]',
    `node_staging_uri = file://${opts.stagingDir}`,
    '',
    // Long enough for a transfer held open by a test while its node drains.
    '[iris]',
    'shutdown_timeout = 300',
    '',
    // HAProxy sets X-Forwarded-Proto and strips what clients send (see haproxy.ts).
    '[oslo_middleware]',
    'enable_proxy_headers_parsing = true',
    '',
    '[healthcheck]',
    `disable_by_file_path = ${opts.disableFile}`,
    '',
    '[database]',
    `connection = ${opts.databaseUrl}`,
    '',
    '[glance_store]',
    `filesystem_store_datadir = ${opts.storeDir}`,
    '',
    opts.extra ?? '',
  ].join('\n');
}

export async function startIrisCluster(opts: ClusterOptions = {}): Promise<IrisCluster> {
  const count = opts.nodes ?? 3;
  const root = mkdtempSync(join(tmpdir(), 'iris-cluster-'));
  const storeDir = join(root, 'shared', 'images');
  const stagingDir = join(root, 'shared', 'staging');
  mkdirSync(storeDir, { recursive: true });
  mkdirSync(stagingDir, { recursive: true });
  const ownsDb = opts.database === undefined;
  let db: SqlServer | undefined = opts.database;
  const nodes: ClusterNode[] = [];
  let lb: Haproxy | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await lb?.stop();
      await Promise.all(nodes.map((n) => n.iris.stop()));
      if (ownsDb) await db?.stop();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  const logs = (): string =>
    [`--- haproxy ---\n${lb?.logs().slice(-3000) ?? ''}`, ...nodes.map((n) => `--- ${n.name} (${n.iris.baseUrl}) ---\n${n.iris.logs().slice(-4000)}`)].join('\n');
  try {
    db ??= await startPostgres().catch((err: unknown) => {
      throw new ClusterDependencyError(`PostgreSQL cannot start: ${(err as Error).message}`, { cause: err });
    });
    const sql = db;
    // In parallel, as nodes come up in a deployment (the migrations take a database lock).
    const started = await Promise.allSettled(
      Array.from({ length: count }, async (_, i) => {
        const name = `node${i + 1}`;
        const dataDir = join(root, name);
        mkdirSync(dataDir);
        const file = join(root, `${name}.conf`);
        const disableFile = join(dataDir, 'healthcheck-disabled');
        const staging = opts.localStaging === true ? join(dataDir, 'staging') : stagingDir;
        const start = async (port: number): Promise<IrisProcess> => {
          const extra = [opts.extraConfig ?? '', opts.perNodeConfig?.({ name, url: `http://127.0.0.1:${port}` }) ?? ''].join('\n');
          writeFileSync(file, nodeConfig({ databaseUrl: sql.url, storeDir, stagingDir: staging, disableFile, extra }));
          return startIris({ dataDir, args: ['--config-file', file], readyTimeoutMs: 180_000, env: { IRIS_PORT: String(port) } });
        };
        let iris: IrisProcess;
        if (opts.perNodeConfig === undefined) iris = await start(0);
        else {
          for (let attempt = 1; ; attempt += 1) {
            try {
              iris = await start(await freePort());
              break;
            } catch (err) {
              if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
            }
          }
        }
        nodes.push({ name, iris, disableFile, stagingDir: staging });
        // A misspelt option would leave the node on a default the tests do not expect.
        if (iris.logs().includes('unknown config option')) throw new Error(`${name}: unknown option in its config:\n${iris.logs()}`);
      }),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    nodes.sort((a, b) => a.name.localeCompare(b.name));
    lb = await startHaproxy({ servers: nodes.map((n) => ({ name: n.name, port: n.iris.port })), frontendLines: opts.frontendLines, tls: opts.tls }).catch(
      (err: unknown) => {
        throw new ClusterDependencyError(`HAProxy cannot start: ${(err as Error).message}`, { cause: err });
      },
    );
    for (const n of nodes) await lb.waitForState(n.name, 'UP');
  } catch (err) {
    await stop();
    if (err instanceof ClusterDependencyError) throw err;
    throw new Error(`${(err as Error).message}\n${logs()}`, { cause: err });
  }
  const balancer = lb;
  const database = db;
  return {
    baseUrl: balancer.baseUrl,
    nodes,
    lb: balancer,
    db: database,
    storeDir,
    stagingDir,
    headers: { 'x-auth-token': CLUSTER_TOKEN },
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (n === undefined) throw new Error(`no cluster node ${name}`);
      return n;
    },
    logs,
    stop,
  };
}
