/**
 * The small interface every disk-format inspector implements.
 *
 * An inspector is a generator that reads the image as a parser would read a file: it asks for
 * the bytes at an offset (`yield* bytes(offset, length)`), for the total size or for the last
 * bytes, and the streaming driver (`inspector.ts`) answers each request as the upload flows
 * past. So the parsing code stays sequential and readable while the driver keeps only what
 * was asked for: nothing is ever read twice and the data is never buffered whole.
 *
 * Requests must move forward through the data: bytes that have already streamed past are
 * only available when they lie in the driver's head buffer (`HEAD_BYTES`); asking for others
 * throws `MissedData` into the generator. At the end of the data a request is answered with
 * what exists (a shorter buffer, possibly empty), which is how inspectors notice truncation.
 */

/** Formats the inspectors recognise. `gpt` means a raw disk with a GPT or MBR partition table. */
export type DetectedFormat = 'raw' | 'gpt' | 'iso' | 'qcow2' | 'qcow' | 'qed' | 'vmdk' | 'vhd' | 'vhdx' | 'vdi';

/** The first bytes of the data every inspector can read at any time, even once they have passed. */
export const HEAD_BYTES = 64 * 1024;
/** How many of the last bytes can be asked for with `tail` (a VMDK stream footer is 1536). */
export const TAIL_BYTES = 1536;

/** One thing an inspector waits for. */
export type Need =
  | {
      readonly kind: 'bytes';
      readonly offset: number;
      readonly length: number;
      /** Stop before the first byte with this value (a NUL-terminated text region). */
      readonly stopAt?: number;
    }
  | { readonly kind: 'size' }
  | { readonly kind: 'tail'; readonly length: number };

/** What the driver sends back: bytes for `bytes` and `tail`, a number for `size`. */
export type Answer = Buffer | number;

/** A named check an image failed. Names are stable: operators list them in configuration. */
export interface CheckFailure {
  /** e.g. `backing_file`, `data_file`, `header`, `truncated`, `mbr`, `gptmbr`. */
  readonly check: string;
  /** For people: what is wrong, without echoing image content (names, paths). */
  readonly reason: string;
}

/** What one inspector concluded about data that carries its format's signature. */
export interface FormatFinding {
  readonly format: DetectedFormat;
  /** Sub-format when it matters to the decision (`fixed` VHD, `monolithicSparse` VMDK…). */
  readonly variant?: string;
  /** The virtual size qemu-img reports for this data, in bytes; null when it cannot be known. */
  readonly virtualSize: number | null;
  /** Empty when the image is safe to hand to qemu and hypervisors. */
  readonly failures: readonly CheckFailure[];
}

/** An inspector's run: yields needs, returns a finding, or null when the data is not its format. */
export type Inspection = Generator<Need, FormatFinding | null, Answer>;

/** One format's inspector. */
export interface FormatInspector {
  readonly format: DetectedFormat;
  /** Starts inspecting a new stream. */
  inspect(): Inspection;
}

/** Thrown into an inspector that asked for bytes which have already streamed past. */
export class MissedData extends Error {
  constructor(offset: number) {
    super(`bytes at offset ${offset} were asked for after they had streamed past`);
    this.name = 'MissedData';
  }
}

/**
 * Waits for `length` bytes at `offset` (fewer at the end of the data).
 * @example const header = yield* bytes(0, 512);
 */
export function* bytes(offset: number, length: number, stopAt?: number): Generator<Need, Buffer, Answer> {
  const answer = yield { kind: 'bytes', offset, length, stopAt };
  if (!Buffer.isBuffer(answer)) throw new TypeError('inspector driver answered a byte request with a number');
  return answer;
}

/** Waits for the end of the data and returns its total size in bytes. */
export function* totalSize(): Generator<Need, number, Answer> {
  const answer = yield { kind: 'size' };
  if (typeof answer !== 'number') throw new TypeError('inspector driver answered a size request with bytes');
  return answer;
}

/** Waits for the end of the data and returns its last `length` bytes (all of it when shorter). */
export function* tail(length: number): Generator<Need, Buffer, Answer> {
  if (length > TAIL_BYTES) throw new RangeError(`tail of ${length} bytes asked; at most ${TAIL_BYTES} are kept`);
  const answer = yield { kind: 'tail', length };
  if (!Buffer.isBuffer(answer)) throw new TypeError('inspector driver answered a tail request with a number');
  return answer;
}

/** A finding with the failures collected so far. */
export function finding(
  format: DetectedFormat,
  virtualSize: number | null,
  failures: readonly CheckFailure[],
  variant?: string,
): FormatFinding {
  return variant === undefined ? { format, virtualSize, failures } : { format, variant, virtualSize, failures };
}
