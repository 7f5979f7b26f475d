/**
 * One side of the two-process races in process-races.test.ts: opens the database through the
 * seam (as a second API process would), prints "ready", waits for "go" on stdin, then races
 * on the images in turn a queued→saving compare-and-swap, a member insert or an atomic
 * property set, and prints one JSON line per attempt: { id, op, won, error }.
 *
 *   node --import tsx test/persistence/race-worker.ts <database url> <label> <id>…
 */
import { createInterface } from 'node:readline';
import { newImageMember } from '../../src/domain/member.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createSqliteImageRepository } from '../../src/persistence/image-repository.js';
import { createSqliteMemberRepository } from '../../src/persistence/member-repository.js';

const [url, label, ...ids] = process.argv.slice(2);
if (url === undefined || label === undefined) throw new Error('usage: race-worker <url> <label> <id>…');
const database = openDatabase({ url });
const images = createSqliteImageRepository(database.db, { engine: database.engine });
const members = createSqliteMemberRepository(database.db, { engine: database.engine });
const found = await Promise.all(ids.map((id) => images.get(id)));
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;

async function attempt(id: string, op: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    process.stdout.write(`${JSON.stringify({ id, op, won: true })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ id, op, won: false, error: (err as Error).constructor.name, message: (err as Error).message, code: (err as { code?: string }).code })}\n`);
  }
}

// One kind of race per image (by position): a CAS save rewrites the whole image, properties
// included, so racing it on the same image would undo the property race it is not part of.
for (const [i, image] of found.entries()) {
  if (image === null) throw new Error('an image to race on is missing');
  if (i % 3 === 0) await attempt(image.id, 'cas', () => images.save({ ...image, status: 'saving', name: label }, { fromStatus: 'queued' }));
  if (i % 3 === 1) await attempt(image.id, 'member', () => members.add(newImageMember(image.id, 'proj-race', new Date())));
  if (i % 3 === 2) await attempt(image.id, 'property', () => images.setPropertyAtomic(image.id, 'os_glance_import_task', label));
}
await database.close();
