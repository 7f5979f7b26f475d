/** Looking into a filesystem store from a test: committed files, partial writes, and waiting. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Files in `dir` other than the drivers' temp area; [] when absent. */
export function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : [];
}

/** Files in the drivers' temp area of `dir` (partial writes). */
export function partials(dir: string): string[] {
  const tmp = join(dir, '.tmp');
  return existsSync(tmp) ? readdirSync(tmp) : [];
}

/** Polls `probe` until it returns a value; rejects naming `what` after `ms` (a generous bound). */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}
