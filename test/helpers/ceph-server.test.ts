/** The one-node Ceph starter: it serves RBD, and stop() leaves no process and no directory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { requireCeph, startCeph } from './ceph-server.js';

/** Pids of live (not zombie) processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(needle) && state !== 'Z') pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

test('startCeph serves an RBD pool; stop() leaves no process and no directory', async (t) => {
  if (!requireCeph()) {
    t.skip('Ceph binaries not installed');
    return;
  }
  const ceph = await startCeph();
  const dir = dirname(ceph.conf);
  try {
    assert.equal(processesMentioning(ceph.conf).length, 2, 'one mon and one OSD');
    assert.match(ceph.fsid, /^[0-9a-f-]{36}$/);
    await ceph.rbd('create', '--size', '4M', `${ceph.pool}/probe`);
    assert.match(await ceph.rbd('ls', ceph.pool), /probe/);
  } finally {
    await ceph.stop();
  }
  assert.deepEqual(processesMentioning(ceph.conf), [], 'no daemon left');
  assert.equal(existsSync(dir), false, 'temp dir removed');
});
