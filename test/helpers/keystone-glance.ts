/**
 * The real Glance (Debian's glance-api 25.1.0) behind a real Keystone, for tests that compare
 * Iris with it or use it as a peer: keystonemiddleware validates tokens with the `glance`
 * service user of the test cloud (test/helpers/keystone.ts). Everything lives in a temp dir:
 * a generated glance-api.conf (SQLite, one filesystem store), Debian's stock paste pipeline
 * `glance-api-keystone`, an empty policy file (Glance's built-in defaults).
 *
 * @example
 *   if (!requireKeystoneGlance()) return;
 *   const glance = await startKeystoneGlance(keystone, cloud, { importMethods: ['glance-download'] });
 *   after(() => glance.stop());
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './iris-server.js';
import type { KeystoneProcess, TestCloud } from './keystone.js';
import { requireTool } from './tools.js';

const execFileAsync = promisify(execFile);
const PASTE = '/etc/glance/glance-api-paste.ini';

/** True when glance-api, glance-manage and the stock paste file are installed; else a loud SKIP (a throw with CI=true). */
export function requireKeystoneGlance(): boolean {
  return (
    requireTool('glance-api (Debian glance-api)', '/usr/bin/glance-api') &&
    requireTool('glance-manage (Debian glance-common)', '/usr/bin/glance-manage') &&
    requireReadable(PASTE)
  );
}

function requireReadable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    const message = `SKIP: ${path} not readable (Debian glance-api)`;
    if (process.env.CI === 'true') throw new Error(`${message} — CI=true, so a missing tool is a failure (see .ci/run)`);
    console.error(`\n*** ${message} ***\n`);
    return false;
  }
}

export interface KeystoneGlanceOptions {
  /** enabled_import_methods (default Glance's). */
  readonly importMethods?: readonly string[];
  /** [import_filtering_opts] allowed_hosts (Glance refuses loopback unless listed here). */
  readonly allowedHosts?: readonly string[];
  /** Extra `[DEFAULT]` lines, e.g. `show_multiple_locations = True`. */
  readonly defaultLines?: readonly string[];
  /** [glance_store] stores (default `file`). */
  readonly stores?: readonly string[];
  /** `glance-manage db load_metadefs` after the schema: the stock catalog (Debian glance-common). */
  readonly loadMetadefs?: boolean;
}

export interface KeystoneGlanceProcess {
  readonly url: string;
  stop(): Promise<void>;
  logs(): string;
}

export async function startKeystoneGlance(
  keystone: KeystoneProcess,
  cloud: TestCloud,
  opts: KeystoneGlanceOptions = {},
): Promise<KeystoneGlanceProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'iris-glance-'));
  for (const sub of ['images', 'staging', 'tasks', 'locks', 'log']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'policy.yaml'), '{}\n');
  const methods = opts.importMethods ?? ['glance-direct', 'web-download', 'copy-image'];
  const conf = (port: number) => `[DEFAULT]
bind_host = 127.0.0.1
bind_port = ${port}
workers = 1
log_file = ${dir}/log/glance-api.log
use_stderr = false
enabled_import_methods = [${methods.join(',')}]
node_staging_uri = file://${dir}/staging
${(opts.defaultLines ?? []).join('\n')}
[database]
connection = sqlite:///${dir}/glance.sqlite
[glance_store]
stores = ${(opts.stores ?? ['file']).join(',')}
default_store = file
filesystem_store_datadir = ${dir}/images
[os_glance_staging_store]
filesystem_store_datadir = ${dir}/staging
[os_glance_tasks_store]
filesystem_store_datadir = ${dir}/tasks
[task]
work_dir = ${dir}/tasks
[import_filtering_opts]
allowed_ports = []
allowed_hosts = [${(opts.allowedHosts ?? []).join(',')}]
[oslo_concurrency]
lock_path = ${dir}/locks
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
policy_file = ${dir}/policy.yaml
[paste_deploy]
flavor = keystone
config_file = ${PASTE}
[keystone_authtoken]
www_authenticate_uri = ${keystone.url}
auth_url = ${keystone.url}
auth_type = password
username = ${cloud.users.glance.name}
password = ${cloud.users.glance.password}
project_name = ${cloud.projects.service.name}
user_domain_id = default
project_domain_id = default
`;
  const confFile = join(dir, 'glance-api.conf');
  writeFileSync(confFile, conf(0));
  let child: ChildProcess | undefined;
  const logs = () => {
    try {
      return readFileSync(join(dir, 'log/glance-api.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const kill = (signal: NodeJS.Signals) => {
    if (child?.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // gone
    }
  };
  const onExit = () => kill('SIGKILL');
  process.on('exit', onExit);
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await execFileAsync('glance-manage', ['--config-file', confFile, 'db_sync'], { timeout: 300_000 });
    if (opts.loadMetadefs) await execFileAsync('glance-manage', ['--config-file', confFile, 'db', 'load_metadefs'], { timeout: 300_000 });
    // glance-api must be told its port: a free one a moment ago, again when another process took it.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      writeFileSync(confFile, conf(port));
      child = spawn('glance-api', ['--config-file', confFile], { detached: true, stdio: 'ignore' });
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 600 && child.exitCode === null; i++) {
        const up = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) }).then(
          () => true,
          () => false,
        );
        if (up) return { url, stop, logs };
        await sleep(200);
      }
      kill('SIGKILL');
      if (attempt >= 3 || !/Address already in use/.test(logs())) throw new Error(`glance-api did not start:\n${logs().slice(-3000)}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
