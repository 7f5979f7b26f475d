/**
 * The glanceclient image lifecycle the client proofs share (glanceclient-stores,
 * glanceclient-database): image-create, image-upload of a few MiB, image-show, image-list,
 * image-download (md5 compared), image-tag-update, member-create, image-delete, each as an
 * operator types it with Debian's /usr/bin/glance against an Iris the caller started. Identity
 * comes from Iris's `peer:<project>:<roles>` token shim, so no Keystone is needed.
 *
 * @example
 *   const g = glanceAgainst(iris.baseUrl, home, () => iris.logs());
 *   await runLifecycle(g, work, { onUploaded: async (id) => { … the bytes are in Swift … } });
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHome, runCli, type CliResult } from '../helpers/cli.js';
import { parsePropertyTable, parseTable } from '../helpers/cli-table.js';
import { GLANCE } from '../helpers/tools.js';

export { makeHome };

export const ADMIN_TOKEN = 'peer:p1:admin,member,reader';
export const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

export interface Glance {
  readonly baseUrl: string;
  /** Runs `glance …` as the admin of project p1. */
  run(...args: string[]): Promise<CliResult>;
  /** Like run, but the command must exit 0 (the message carries stderr and Iris's log tail). */
  ok(...args: string[]): Promise<CliResult>;
  /** image-show parsed into its Property/Value pairs. */
  show(id: string): Promise<Record<string, string>>;
}

export function glanceAgainst(baseUrl: string, home: string, serverLogs: () => string): Glance {
  const run = (...args: string[]): Promise<CliResult> =>
    // Stdin closed (`<&-`): on /dev/null or a pipe, image-create would upload stdin as the data.
    // A dummy --os-auth-url keeps glanceclient from reading back a cached schema.
    runCli(
      '/bin/sh',
      ['-c', 'exec "$0" "$@" <&-', GLANCE, '--os-image-url', baseUrl, '--os-auth-token', ADMIN_TOKEN, '--os-auth-url', `${baseUrl}/no-keystone`, ...args],
      { home, timeoutMs: 120_000 },
    );
  const ok = async (...args: string[]): Promise<CliResult> => {
    const r = await run(...args);
    assert.equal(r.code, 0, `${r.describe()}--- server log (tail) ---\n${serverLogs().slice(-3000)}`);
    return r;
  };
  const show = async (id: string): Promise<Record<string, string>> => parsePropertyTable((await ok('image-show', id)).stdout);
  return { baseUrl, run, ok, show };
}

export interface LifecycleHooks {
  /** Called once the image is active, e.g. to check where its bytes went. */
  readonly onUploaded?: (id: string, data: Buffer) => Promise<void>;
  /** Called after image-delete succeeded. */
  readonly onDeleted?: (id: string) => Promise<void>;
}

/**
 * create → upload → show → list → download → tag → member → delete. Returns the image id (gone
 * by then). `work` is a temp dir for the image file and the download.
 */
export async function runLifecycle(g: Glance, work: string, hooks: LifecycleHooks = {}): Promise<string> {
  const name = `iris-lifecycle-${randomBytes(4).toString('hex')}`;
  const data = randomBytes(3 * 1024 * 1024 + 4321); // a few MiB, not a multiple of any chunk size
  const file = join(work, `${name}.img`);
  writeFileSync(file, data);

  const created = parsePropertyTable((await g.ok('image-create', '--name', name, '--disk-format', 'raw', '--container-format', 'bare')).stdout);
  const id = created.id ?? '';
  assert.match(id, /^[0-9a-f-]{36}$/, JSON.stringify(created));
  assert.equal(created.status, 'queued');

  await g.ok('image-upload', '--file', file, id);
  const img = await g.show(id);
  assert.equal(img.status, 'active', JSON.stringify(img));
  assert.equal(img.name, name);
  assert.equal(img.size, String(data.length));
  assert.equal(img.checksum, md5(data));
  assert.equal(img.os_hash_algo, 'sha512');
  assert.equal(img.os_hash_value, createHash('sha512').update(data).digest('hex'));
  await hooks.onUploaded?.(id, data);

  const row = parseTable((await g.ok('image-list')).stdout).find((r) => r.ID === id);
  assert.equal(row?.Name, name, `image ${id} not in image-list`);

  const out = join(work, `${name}.out`);
  await g.ok('image-download', '--file', out, id);
  assert.equal(md5(readFileSync(out)), md5(data), 'downloaded bytes differ from the uploaded file');

  await g.ok('image-tag-update', id, 'iris-proof');
  assert.match((await g.show(id)).tags ?? '', /["']iris-proof["']/);

  const member = 'cccccccc000000000000000000000002';
  const members = parseTable((await g.ok('member-create', id, member)).stdout);
  assert.equal(members[0]?.['Member ID'], member, JSON.stringify(members));
  assert.equal(members[0]?.Status, 'pending');
  const listed = parseTable((await g.ok('member-list', '--image-id', id)).stdout);
  assert.deepEqual(
    listed.map((m) => m['Member ID']),
    [member],
  );

  await g.ok('image-delete', id);
  const gone = await g.run('image-show', id);
  assert.notEqual(gone.code, 0, gone.describe());
  assert.match(gone.stderr, /404|no image found/i, gone.describe());
  await hooks.onDeleted?.(id);
  return id;
}
