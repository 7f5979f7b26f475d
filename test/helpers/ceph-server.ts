/**
 * A throwaway one-node Ceph (Debian's Pacific packages: ceph-mon, ceph-osd, ceph-common) for the
 * rbd tests: one mon on a free loopback port, one memstore OSD (RAM only, nothing on disk), no
 * mgr (RBD I/O does not need one and it costs 200+ MiB), pool `images` initialised for RBD, and
 * a `client.glance` key with the caps a real Glance gets (`profile rbd`). Everything lives in a
 * temp dir; the daemons run in the foreground as children of this process, so stop() kills
 * exactly them and nothing else. About 4–6 s to start on the 2-core test machine.
 *
 * @example
 *   if (!requireCeph()) return;            // loud SKIP locally, failure with CI=true
 *   const ceph = await startCeph();
 *   after(() => ceph.stop());
 *   // Iris: rbd_store_ceph_conf = ceph.conf, rbd_store_user = ceph.user, rbd_store_pool = ceph.pool
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './iris-server.js';

const execFileAsync = promisify(execFile);

/** The binaries the starter runs, all from Debian's ceph-mon, ceph-osd and ceph-common. */
const BINARIES = ['ceph-mon', 'ceph-osd', 'ceph', 'ceph-authtool', 'monmaptool', 'rbd', 'rados'] as const;
const BIN_DIR = '/usr/bin';

export interface CephServer {
  /** ceph.conf of the cluster; its [client] section points at `keyring`. */
  readonly conf: string;
  /** Keyring holding client.glance's key (what rbd_store_user = glance reads). */
  readonly keyring: string;
  /** The RADOS user for Iris, without `client.`: `glance`. */
  readonly user: string;
  /** Keyring of client.admin, for the tests' own `rbd` commands (clone, du). */
  readonly adminKeyring: string;
  /** The pool images go to, initialised for RBD: `images`. */
  readonly pool: string;
  readonly fsid: string;
  /** Runs the `rbd` CLI as client.admin on this cluster; resolves with its stdout. */
  rbd(...args: string[]): Promise<string>;
  /** Kills this cluster's daemons (OSD first: it exits at once while the mon is up) and removes its dir. */
  stop(): Promise<void>;
}

export interface StartCephOptions {
  /** Bytes the memstore OSD may hold (RAM, used only as data is written). Default 1 GiB. */
  readonly memstoreBytes?: number;
  /** Max wait for each step (mon quorum, OSD up, pool ready), ms. Default 60 000. */
  readonly stepTimeoutMs?: number;
}

/**
 * True when the Ceph binaries are installed. Otherwise prints a loud SKIP line and returns
 * false, or throws when CI=true (CI installs the packages; a silent skip would hide a break).
 */
export function requireCeph(): boolean {
  const missing = BINARIES.filter((b) => {
    try {
      accessSync(join(BIN_DIR, b), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return true;
  const message =
    `SKIP: Ceph not installed (missing ${missing.join(', ')}; ` +
    'apt-get install --no-install-recommends ceph-mon ceph-osd ceph-common)';
  if (process.env.CI === 'true') throw new Error(`${message} — CI=true, so a missing tool is a failure (see .ci/run)`);
  console.error(`\n*** ${message} ***\n`);
  return false;
}

function cephConf(dir: string, fsid: string, monPort: number, memstoreBytes: number): string {
  return `[global]
fsid = ${fsid}
mon_host = [v2:127.0.0.1:${monPort}]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_msgr1 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
run_dir = ${dir}/run
admin_socket = ${dir}/run/$name.$pid.asok
log_file = ${dir}/log/$name.log
crash_dir = ${dir}/crash
log_to_stderr = false
err_to_stderr = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
# A loaded, fullish test disk must not make the mon warn or stop.
mon_data_avail_warn = 2
mon_data_avail_crit = 1
auth_allow_insecure_global_id_reclaim = false

[client]
keyring = ${dir}/client.glance.keyring
log_file = ${dir}/log/$name.$pid.log

[mon]
mon_data = ${dir}/mon
# 0.1 s instead of 1 s between map commits: the cluster is ready in seconds, not 12.
paxos_propose_interval = 0.1
paxos_min_wait = 0.01

[osd]
osd_data = ${dir}/osd
keyring = ${dir}/osd/keyring
osd_objectstore = memstore
memstore_device_bytes = ${memstoreBytes}
memstore_page_set = false
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
osd_class_update_on_start = false
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
`;
}

/**
 * Starts a fresh cluster. On any failure everything started so far is killed and the dir
 * removed before the error is thrown (with the last lines of the daemons' logs).
 */
export async function startCeph(opts: StartCephOptions = {}): Promise<CephServer> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-ceph-'));
  const daemons: ChildProcess[] = [];
  const stepTimeout = opts.stepTimeoutMs ?? 60_000;
  const conf = join(dir, 'ceph.conf');
  const adminKeyring = join(dir, 'client.admin.keyring');
  const keyring = join(dir, 'client.glance.keyring');
  const pool = 'images';

  const run = async (bin: string, args: string[], input?: string): Promise<string> => {
    const child = execFileAsync(join(BIN_DIR, bin), args, { timeout: stepTimeout, maxBuffer: 16 * 1024 * 1024 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    const { stdout } = await child;
    return stdout;
  };
  const admin = ['-c', conf, '--id', 'admin', '--keyring', adminKeyring];
  const ceph = (...args: string[]): Promise<string> => run('ceph', [...admin, '--connect-timeout', '20', ...args]);
  const daemon = (bin: string, args: string[]): void => {
    // Foreground (-f): the daemon is our child, its pid is ours to kill and nobody else's.
    const child = spawn(join(BIN_DIR, bin), ['-f', '-c', conf, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('exit', (code, signal) => {
      if (!stopping && code !== 0) console.error(`# ceph: ${bin} exited (${code ?? signal}): ${stderr.trim()}`);
    });
    daemons.push(child);
  };
  let stopping = false;

  const stop = async (): Promise<void> => {
    stopping = true;
    // The OSD first: without its mon it waits osd_mon_shutdown_timeout (5 s) before exiting.
    for (const child of [...daemons].reverse()) await killChild(child);
    // Retries: a daemon's last log lines can land while the tree is being removed.
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };

  const until = async (what: string, probe: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + stepTimeout;
    for (;;) {
      if (await probe().catch(() => false)) return;
      const dead = daemons.find((d) => d.exitCode !== null || d.signalCode !== null);
      if (dead) throw new Error(`ceph: ${String(dead.spawnargs[0])} exited while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`ceph: ${what} not reached in ${stepTimeout} ms (logs in ${dir}/log)`);
      await sleep(200);
    }
  };

  try {
    for (const sub of ['run', 'log', 'crash', 'mon', 'osd']) mkdirSync(join(dir, sub));
    const fsid = randomUUID();
    const monPort = await freePort();
    writeFileSync(conf, cephConf(dir, fsid, monPort, opts.memstoreBytes ?? 1024 ** 3));

    const monKeyring = join(dir, 'mon.keyring');
    await run('ceph-authtool', ['--create-keyring', monKeyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('ceph-authtool', [
      '--create-keyring', adminKeyring, '--gen-key', '-n', 'client.admin',
      '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *',
    ]);
    // Glance's usual caps: rbd on the mon, rbd on its pool only.
    await run('ceph-authtool', [
      '--create-keyring', keyring, '--gen-key', '-n', 'client.glance',
      '--cap', 'mon', 'profile rbd', '--cap', 'osd', `profile rbd pool=${pool}`,
    ]);
    // Keys in the mon keyring at mkfs become the cluster's auth database.
    await run('ceph-authtool', [monKeyring, '--import-keyring', adminKeyring]);
    await run('ceph-authtool', [monKeyring, '--import-keyring', keyring]);
    const monmap = join(dir, 'monmap');
    await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, monmap]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monKeyring]);
    daemon('ceph-mon', ['-i', 'a']);
    await until('mon quorum', async () => (await ceph('mon', 'stat')).includes('quorum'));

    const osdUuid = randomUUID();
    const osdKey = (await run('ceph-authtool', ['--gen-print-key'])).trim();
    const osdId = (await run('ceph', [...admin, 'osd', 'new', osdUuid, '-i', '-'], JSON.stringify({ cephx_secret: osdKey }))).trim();
    if (osdId !== '0') throw new Error(`ceph: the new OSD got id ${osdId}, not 0`);
    writeFileSync(join(dir, 'osd', 'keyring'), `[osd.0]\n\tkey = ${osdKey}\n`);
    await run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    daemon('ceph-osd', ['-i', '0']);
    await until('OSD up', async () => /1 up.*1 in/.test(await ceph('osd', 'stat')));

    await ceph('osd', 'pool', 'create', pool, '8', '8');
    await run('rbd', [...admin, 'pool', 'init', pool]);
    await until(`pool ${pool} ready`, async () => {
      await run('rados', [...admin, '-p', pool, 'stat', 'rbd_info']);
      return true;
    });

    return {
      conf,
      keyring,
      user: 'glance',
      adminKeyring,
      pool,
      fsid,
      rbd: (...args: string[]) => run('rbd', [...admin, ...args]),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child has exited. */
async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
