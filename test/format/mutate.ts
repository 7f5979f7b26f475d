/**
 * Header mutations of the corpus's good images for fuzzing: random bytes, extreme integer
 * fields and truncations, aimed at the ranges that hold headers, descriptors and footers (a
 * mutation of the payload would only test that data is data). Deterministic for a seed.
 *
 * @example for (const mutant of mutants(buildCorpus().good, 300, 1)) upload(mutant.data);
 */
import type { CorpusImage } from './corpus.js';
import { seededRandom } from './seeded-random.js';

export interface Mutant {
  readonly base: CorpusImage;
  readonly data: Buffer;
  /** What was changed, for failure messages. */
  readonly description: string;
}

const EXTREMES_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x200, 0x10000];
const EXTREMES_64 = [0n, 1n, 0x7fffffffffffffffn, 0xffffffffffffffffn, 1n << 53n, 1n << 40n, 0x200n];

/** `rounds` mutants of images picked at random from `images`. */
export function mutants(images: readonly CorpusImage[], rounds: number, seed: number): Mutant[] {
  const random = seededRandom(seed);
  const out: Mutant[] = [];
  for (let round = 0; round < rounds; round++) {
    const base = random.pick(images);
    const data = Buffer.from(base.data);
    const [start, end] = random.pick(base.hot);
    const at = () => random.int(start, Math.max(start, Math.min(end, data.length) - 1));
    const kind = random.int(0, 9);
    let description: string;
    if (kind < 5) {
      const changed: number[] = [];
      for (let i = random.int(1, 4); i > 0; i--) {
        const offset = at();
        data[offset] = random.int(0, 255);
        changed.push(offset);
      }
      description = `bytes at ${changed.join(', ')}`;
    } else if (kind < 7) {
      const offset = at() & ~3;
      if (offset + 4 > data.length) continue;
      const value = random.pick(EXTREMES_32);
      if (random.next() < 0.5) data.writeUInt32LE(value, offset);
      else data.writeUInt32BE(value, offset);
      description = `u32 at ${offset} = ${value}`;
    } else if (kind < 9) {
      const offset = at() & ~7;
      if (offset + 8 > data.length) continue;
      const value = random.pick(EXTREMES_64);
      if (random.next() < 0.5) data.writeBigUInt64LE(value, offset);
      else data.writeBigUInt64BE(value, offset);
      description = `u64 at ${offset} = ${value}`;
    } else {
      const length = at();
      out.push({ base, data: data.subarray(0, length), description: `truncated to ${length} bytes` });
      continue;
    }
    out.push({ base, data, description });
  }
  return out;
}
