/**
 * One side of the two-process races in process-races.test.ts: opens the database through the
 * seam (as a second API process would), prints "ready", waits for "go" on stdin, then races
 * on the images in turn a queued→saving compare-and-swap and an atomic property set, a member
 * insert or an atomic property set alone, and prints one JSON line per attempt: { id, op, won, error }.
 *
 *   node --import tsx test/persistence/race-worker.ts <database url> <label> <id>…
 */
import { createInterface } from 'node:readline';
import { newImageMember } from '../../src/domain/member.js';
import { openDatabase } from '../../src/persistence/database.js';
import { createImageRepository } from '../../src/persistence/image-repository.js';
import { createMemberRepository } from '../../src/persistence/member-repository.js';

const [url, label, ...ids] = process.argv.slice(2);
if (url === undefined || label === undefined) throw new Error('usage: race-worker <url> <label> <id>…');
const database = openDatabase({ url });
const images = createImageRepository(database.db, { engine: database.engine });
const members = createMemberRepository(database.db, { engine: database.engine });
const found = await Promise.all(ids.map((id) => images.get(id)));
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;

async function attempt(id: string, op: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    process.stdout.write(`${JSON.stringify({ id, op, label, won: true })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ id, op, label, won: false, error: (err as Error).constructor.name, message: (err as Error).message, code: (err as { code?: string }).code })}\n`);
  }
}

// By position: a CAS save and an atomic property set on the same image (each side in its own
// order, so either may commit first: the save must keep the property it did not change), a
// member insert, or a property set alone.
const cas = (image: NonNullable<(typeof found)[number]>) =>
  attempt(image.id, 'cas', () => images.save({ ...image, status: 'saving', name: label }, { fromStatus: 'queued', previous: image }));
for (const [i, image] of found.entries()) {
  if (image === null) throw new Error('an image to race on is missing');
  if (i % 3 === 0) {
    const property = () => attempt(image.id, 'property', () => images.setPropertyAtomic(image.id, 'os_glance_import_task', label));
    if (label === 'a') await cas(image).then(property);
    else await property().then(() => cas(image));
  }
  if (i % 3 === 1) await attempt(image.id, 'member', () => members.add(newImageMember(image.id, 'proj-race', new Date())));
  if (i % 3 === 2) await attempt(image.id, 'property', () => images.setPropertyAtomic(image.id, 'os_glance_import_task', label));
}
await database.close();
