import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentWriter, formatWriter, isDeadLocalWriter, parseWriter } from './writer-identity.js';

/** The pid of a process of this node that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('writer identity: round trip, and nothing else parses', () => {
  const me = currentWriter();
  assert.match(formatWriter(me), /^[0-9a-f]{12}-[0-9]+$/);
  assert.deepEqual(parseWriter(formatWriter(me)), me);
  for (const text of ['', '0123456789ab', '0123456789ab-', '0123456789ab-0', '0123456789AB-12', 'fedcba9876543210', '0123456789ab-12-3']) {
    assert.equal(parseWriter(text), undefined, text);
  }
});

test('writer identity: only a gone process of this node is dead', () => {
  const me = currentWriter();
  assert.equal(isDeadLocalWriter(me), false);
  assert.equal(isDeadLocalWriter({ node: me.node, pid: process.ppid }), false);
  const gone = deadPid();
  assert.equal(isDeadLocalWriter({ node: me.node, pid: gone }), true);
  // Another node's pid says nothing about its process: left to the age limit.
  const other = me.node === '000000000000' ? '111111111111' : '000000000000';
  assert.equal(isDeadLocalWriter({ node: other, pid: gone }), false);
});

test('writer identity: an exited process not reaped yet (a zombie) is dead', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('zombies are read from /proc (Linux only)');
    return;
  }
  // The shell starts `cat` in the background on the test's pipe (through fd 3: a background job's
  // own stdin is /dev/null) and becomes `sleep`, which never reaps it; once it is `sleep`,
  // closing the pipe ends `cat`: a zombie.
  const script = 'exec 3<&0; cat <&3 >/dev/null & echo $!; exec sleep 60 </dev/null 3<&-';
  const parent = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const comm = () => {
      try {
        return readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim();
      } catch {
        return 'gone';
      }
    };
    for (let i = 0; i < 1000 && comm() !== 'sleep'; i += 1) await sleep(10);
    assert.equal(comm(), 'sleep', 'the shell became sleep');
    parent.stdin.end();
    const state = () => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        return 'gone';
      }
    };
    // Wait (bounded) for `cat` to have exited: a zombie then.
    for (let i = 0; i < 1000 && state() !== 'Z'; i += 1) await sleep(10);
    assert.equal(state(), 'Z', 'the background process became a zombie');
    assert.doesNotThrow(() => process.kill(pid, 0), 'kill(pid, 0) still finds it');
    assert.equal(isDeadLocalWriter({ node: currentWriter().node, pid }), true);
  } finally {
    parent.kill('SIGKILL');
  }
});
