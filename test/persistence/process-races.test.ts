/**
 * Races between two processes, each with its own connections to the same database (two API
 * processes or nodes): for every image, exactly one process wins the queued→saving
 * compare-and-swap, the member insert or the atomic property set raced on it; the other gets
 * Conflict. A compare-and-swap save raced with a property set on the same image keeps the
 * property (the save writes only the properties it changed).
 * On SQLite the two processes contend for the file lock, on the servers for rows and keys.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDb, makeImage } from './sqlite-fixture.js';
import { testEngines } from './test-engines.js';

const WORKER = fileURLToPath(new URL('./race-worker.ts', import.meta.url));
/** Images to race on: a third each for the CAS + property, member and property races. */
const IMAGES = 24;

interface Outcome {
  readonly id: string;
  readonly op: 'cas' | 'member' | 'property';
  readonly label: string;
  readonly won: boolean;
  readonly error?: string;
}

/** Starts one racer; resolves once it is connected and waiting for "go". */
async function racer(url: string, label: string, ids: readonly string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', WORKER, url, label, ...ids], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const outcomes: Outcome[] = [];
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('{')) outcomes.push(JSON.parse(line) as Outcome);
    });
    child.once('exit', (code) => reject(new Error(`racer ${label} exited (${code}) before it was ready: ${stderr}`)));
  });
  await ready;
  const exited = once(child, 'exit').then(([code]) => {
    assert.equal(code, 0, `racer ${label} failed: ${stderr}`);
    return outcomes;
  });
  return { go: () => child.stdin.end('go\n'), done: () => exited, kill: () => child.kill('SIGKILL') };
}

for (const engine of await testEngines()) {
  describe(`races between two processes on ${engine.name}`, { skip: engine.skip }, () => {
    test('each image: exactly one compare-and-swap, member insert or property set wins; the other side gets Conflict', async () => {
      const db = await createTestDb(engine.server);
      try {
        const ids: string[] = [];
        for (let i = 0; i < IMAGES; i += 1) {
          const image = makeImage({ status: 'queued', visibility: 'shared' });
          await db.repo.add(image);
          ids.push(image.id);
        }
        const a = await racer(db.url, 'a', ids);
        const b = await racer(db.url, 'b', ids).catch((err: unknown) => {
          a.kill();
          throw err;
        });
        a.go();
        b.go();
        const outcomes = [...(await a.done()), ...(await b.done())];
        assert.equal(outcomes.length, (IMAGES + IMAGES / 3) * 2);
        for (const [i, id] of ids.entries()) {
          const ops: readonly Outcome['op'][] = ([['cas', 'property'], ['member'], ['property']] as const)[i % 3]!;
          for (const op of ops) {
            const tries = outcomes.filter((o) => o.id === id && o.op === op);
            assert.equal(tries.filter((o) => o.won).length, 1, `${op} on ${id}: ${JSON.stringify(tries)}`);
            assert.deepEqual(tries.filter((o) => !o.won).map((o) => o.error), ['Conflict'], `${op} on ${id}: ${JSON.stringify(tries)}`);
          }
          const stored = await db.repo.get(id);
          if (ops.includes('property')) {
            // The CAS save raced on the same image wrote no properties: the winner's lock stays.
            const winner = outcomes.find((o) => o.id === id && o.op === 'property' && o.won);
            assert.equal(stored?.properties.os_glance_import_task, winner?.label, `lock on ${id}`);
          }
          if (ops.includes('cas')) {
            assert.equal(stored?.status, 'saving');
            assert.ok(stored?.name === 'a' || stored?.name === 'b');
          }
        }
      } finally {
        await db.cleanup();
      }
    });
  });
}
