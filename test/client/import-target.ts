/**
 * The server the import/task/store CLI tests talk to: a multi-store cloud with stores `local`
 * (default) and `local2` and the import methods glance-direct, web-download and copy-image,
 * web-download allowed to any port (the tests serve the file on a loopback port).
 * These tests always run: a target without that configuration is a failure, never a skip.
 *
 * - `IRIS_IMPORT_TEST_TARGET=http://127.0.0.1:9302` uses that server, e.g. the reference Glance:
 *     PEER_GLANCE_DIR=/tmp/peer-cli PEER_GLANCE_PORT=9302 PEER_GLANCE_BACKENDS=local,local2 \
 *     PEER_GLANCE_IMPORT_METHODS=glance-direct,web-download,copy-image PEER_GLANCE_CACHE=0 \
 *     PEER_GLANCE_WEB_DOWNLOAD_PORTS= bash ../shared/peer-glance/start.sh
 *   A target without that configuration fails the tests.
 * - Otherwise a fresh Iris is started with the same configuration (irisImportConfig below, in
 *   Glance's option names, plus Iris's `allow_loopback` for the web-download file server). An
 *   Iris whose probe finds a method or store missing fails the tests.
 *
 * Identity: the `peer:<project>:<roles>` token that both the peer's hybrid auth and Iris accept
 * (import needs a project; copy-image the admin role under Glance's legacy defaults).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

export const IMPORT_METHODS = ['glance-direct', 'web-download', 'copy-image'] as const;
export const STORES = ['local', 'local2'] as const;

/** The Iris configuration matching the peer's (see /work/shared/peer-glance/start.sh). */
export function irisImportConfig(dir: string): string {
  return [
    '[DEFAULT]',
    'enabled_import_methods = [glance-direct,web-download,copy-image]',
    `node_staging_uri = file://${dir}/staging`,
    'enabled_backends = local:file,local2:file',
    '[glance_store]',
    'default_backend = local',
    '[local]',
    `filesystem_store_datadir = ${dir}/images/local`,
    'store_description = "local filesystem store"',
    '[local2]',
    `filesystem_store_datadir = ${dir}/images/local2`,
    'store_description = "local2 filesystem store"',
    '[os_glance_staging_store]',
    `filesystem_store_datadir = ${dir}/staging`,
    '[os_glance_tasks_store]',
    `filesystem_store_datadir = ${dir}/tasks_work_dir`,
    '[import_filtering_opts]',
    'allowed_ports = []',
    // Iris only: the tests serve web-download files on 127.0.0.1.
    'allow_loopback = true',
    '',
  ].join('\n');
}

export interface ImportTarget {
  /** No trailing slash. */
  readonly baseUrl: string;
  /** What it is, for messages: the external URL or "Iris". */
  readonly label: string;
  readonly iris?: IrisProcess;
  logs(): string;
  close(): Promise<void>;
}

/** Why a target cannot run the import tests, or undefined when it can. */
async function missingFeatures(baseUrl: string): Promise<string | undefined> {
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${baseUrl}${path}`, {
      headers: { Accept: 'application/json', 'X-Auth-Token': 'peer:import-probe:admin' },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  };
  const info = await get('/v2/info/import');
  const methods: string[] = info.body?.['import-methods']?.value ?? [];
  const lacking = IMPORT_METHODS.filter((m) => !methods.includes(m));
  if (info.status !== 200 || lacking.length > 0) return `GET /v2/info/import: ${info.status}, methods ${JSON.stringify(methods)} (need ${IMPORT_METHODS.join(', ')})`;
  const stores = await get('/v2/info/stores');
  const ids: string[] = Array.isArray(stores.body?.stores) ? stores.body.stores.map((s: { id: string }) => s.id) : [];
  if (stores.status !== 200 || STORES.some((s) => !ids.includes(s))) return `GET /v2/info/stores: ${stores.status}, stores ${JSON.stringify(ids)} (need ${STORES.join(', ')})`;
  return undefined;
}

/**
 * The import target; throws when it lacks a method or store the tests need.
 *
 * @example
 *   before(async () => { target = await openImportTarget(); });
 */
export async function openImportTarget(): Promise<ImportTarget> {
  const external = process.env.IRIS_IMPORT_TEST_TARGET;
  if (external !== undefined && external !== '') {
    const baseUrl = external.replace(/\/+$/, '');
    const missing = await missingFeatures(baseUrl);
    if (missing !== undefined) throw new Error(`IRIS_IMPORT_TEST_TARGET=${external} is not configured for the import tests: ${missing}`);
    return { baseUrl, label: baseUrl, logs: () => '', close: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'iris-import-'));
  const conf = join(dir, 'iris-api.conf');
  writeFileSync(conf, irisImportConfig(dir));
  const iris = await startIris({ args: ['--config-file', conf] });
  const close = async (): Promise<void> => {
    await iris.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const missing = await missingFeatures(iris.baseUrl);
  if (missing !== undefined) {
    const output = iris.logs().slice(-4000);
    await close();
    throw new Error(`Iris started with the multi-store import configuration lacks import features: ${missing}; output:\n${output}`);
  }
  return { baseUrl: iris.baseUrl, label: 'Iris', iris, logs: () => iris.logs(), close };
}

/** A `peer:` token for a project and roles (both the peer's hybrid auth and Iris take it). */
export function peerToken(project: string, roles = 'admin'): string {
  return `peer:${project}:${roles}`;
}

/** Request headers carrying that identity, for checks over HTTP. */
export function identity(token: string): Record<string, string> {
  return { 'X-Auth-Token': token };
}
