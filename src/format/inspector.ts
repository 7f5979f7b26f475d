/**
 * Runs every format inspector over one stream of image data, in a single pass, while the data
 * flows to the store.
 *
 * Memory is bounded and independent of the image size: the first `HEAD_BYTES`, the last
 * `TAIL_BYTES`, and the regions inspectors ask for while they are pending (each at most
 * 1 MiB, in practice a few KiB: the VMDK descriptor, the VHDX region table and metadata, an
 * ISO volume descriptor). Once the headers have passed, inspectors that did not recognise the
 * data are finished and a chunk costs a copy of its last 1536 bytes.
 *
 * The inspector never throws: a bug or a malformed region that defeats a parser becomes a
 * failed check of that format, and so a refusal, never a crash of the upload.
 */
import { detect } from './detect.js';
import type { DetectOptions, InspectionResult } from './detect.js';
import { HEAD_BYTES, MissedData, TAIL_BYTES } from './format-inspector.js';
import type { Answer, DetectedFormat, FormatFinding, FormatInspector, Inspection, Need } from './format-inspector.js';
import { gptInspector } from './gpt.js';
import { isoInspector } from './iso.js';
import { qcow2Inspector } from './qcow2.js';
import { qedInspector } from './qed.js';
import { vdiInspector } from './vdi.js';
import { vhdInspector } from './vhd.js';
import { vhdxInspector } from './vhdx.js';
import { vmdkInspector } from './vmdk.js';

/** Every inspector, in the order findings are reported. */
export const ALL_INSPECTORS: readonly FormatInspector[] = Object.freeze([
  qcow2Inspector,
  qedInspector,
  vmdkInspector,
  vhdInspector,
  vhdxInspector,
  vdiInspector,
  isoInspector,
  gptInspector,
]);

export interface InspectorOptions extends DetectOptions {
  /** Which inspectors run; default all of them. */
  readonly inspectors?: readonly FormatInspector[];
}

/** Inspection of one stream: feed it the chunks, then ask for the result. */
export interface StreamInspector {
  /** The next chunk of data. Never throws; the chunk is not kept or modified. */
  write(chunk: Buffer): void;
  /** Ends the data and decides. Never throws; later calls return the same result. */
  finish(): InspectionResult;
}

interface Task {
  readonly format: DetectedFormat;
  readonly run: Inspection;
  /** What the inspector waits for; null once it has returned. */
  need: Need | null;
  /** Bytes gathered so far for a `bytes` need. */
  pieces: Buffer[];
  filled: number;
  result: FormatFinding | null;
}

/**
 * Creates the inspector for one upload.
 *
 * @example
 * const inspector = createInspector({ gptSafetyChecksNonfatal: [] });
 * for await (const chunk of stream) inspector.write(chunk);
 * const { format, virtualSize, safe, reason } = inspector.finish();
 */
export function createInspector(opts: InspectorOptions = {}): StreamInspector {
  const head = Buffer.alloc(HEAD_BYTES);
  let headLength = 0;
  // The last TAIL_BYTES, as a ring: the byte at stream position p lives at p % TAIL_BYTES.
  const ring = Buffer.alloc(TAIL_BYTES);
  let position = 0;
  let broken: unknown;
  let result: InspectionResult | undefined;

  const tasks: Task[] = (opts.inspectors ?? ALL_INSPECTORS).map((inspector) => {
    const task: Task = { format: inspector.format, run: inspector.inspect(), need: null, pieces: [], filled: 0, result: null };
    resume(task, undefined);
    return task;
  });

  /** Hands the inspector its answer (or an error) and records what it wants next. */
  function resume(task: Task, answer: Answer | undefined, error?: Error): void {
    task.pieces = [];
    task.filled = 0;
    try {
      const step = error ? task.run.throw(error) : task.run.next(answer as Answer);
      if (step.done) {
        task.need = null;
        task.result = step.value;
      } else {
        task.need = step.value;
      }
    } catch (err) {
      task.need = null;
      task.result = {
        format: task.format,
        virtualSize: null,
        failures: [
          {
            check: 'header',
            reason:
              err instanceof MissedData
                ? `${task.format} header regions are out of order`
                : `${task.format} header could not be parsed`,
          },
        ],
      };
    }
  }

  /**
   * Serves a `bytes` need from the head buffer and the current chunk. Returns the answer,
   * 'wait' when more data is needed, or a MissedData error. With `atEnd`, waiting means the
   * data is over and the answer is what there is.
   */
  function serve(task: Task, chunk: Buffer | null, chunkStart: number, atEnd: boolean): Buffer | 'wait' | MissedData {
    const need = task.need as Extract<Need, { kind: 'bytes' }>;
    const end = need.offset + need.length;
    // Most header reads lie in the head buffer: answer with a view, no copy (the head is
    // append-only, so the view stays valid).
    if (task.filled === 0 && end <= headLength) {
      const view = head.subarray(need.offset, end);
      const stop = need.stopAt === undefined ? -1 : view.indexOf(need.stopAt);
      return stop < 0 ? view : view.subarray(0, stop);
    }
    for (;;) {
      const want = need.offset + task.filled;
      if (want >= end) return Buffer.concat(task.pieces);
      let source: Buffer;
      let sourceStart: number;
      if (want < headLength) {
        source = head.subarray(0, headLength);
        sourceStart = 0;
      } else if (chunk !== null && want >= chunkStart && want < chunkStart + chunk.length) {
        source = chunk;
        sourceStart = chunkStart;
      } else if (want >= position) {
        return atEnd ? Buffer.concat(task.pieces) : 'wait';
      } else {
        return new MissedData(want);
      }
      let piece = source.subarray(want - sourceStart, Math.min(end, sourceStart + source.length) - sourceStart);
      const stop = need.stopAt === undefined ? -1 : piece.indexOf(need.stopAt);
      if (stop >= 0) piece = piece.subarray(0, stop);
      // Copied: the caller's chunk is not ours to keep.
      task.pieces.push(Buffer.from(piece));
      task.filled += piece.length;
      if (stop >= 0) return Buffer.concat(task.pieces);
    }
  }

  /** Moves one task forward as far as the data seen so far allows. */
  function advance(task: Task, chunk: Buffer | null, chunkStart: number, atEnd: boolean): void {
    while (task.need !== null) {
      const need = task.need;
      if (need.kind === 'bytes') {
        // Entirely in data still to come: nothing to do for this chunk.
        if (!atEnd && need.offset + task.filled >= position) return;
        const answer = serve(task, chunk, chunkStart, atEnd);
        if (answer === 'wait') return;
        if (answer instanceof MissedData) resume(task, undefined, answer);
        else resume(task, answer);
      } else if (!atEnd) {
        return;
      } else if (need.kind === 'size') {
        resume(task, position);
      } else {
        resume(task, lastBytes(Math.min(need.length, position)));
      }
    }
  }

  /** Keeps what later requests may need of a chunk that starts at `position`. */
  function keep(chunk: Buffer): void {
    if (headLength < HEAD_BYTES) headLength += chunk.copy(head, headLength, 0, HEAD_BYTES - headLength);
    const from = Math.max(0, chunk.length - TAIL_BYTES);
    const at = (position + from) % TAIL_BYTES;
    const copied = chunk.copy(ring, at, from);
    if (from + copied < chunk.length) chunk.copy(ring, 0, from + copied);
  }

  /** The last `length` bytes of the data (`length` ≤ TAIL_BYTES and ≤ position). */
  function lastBytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    const at = (position - length) % TAIL_BYTES;
    const copied = ring.copy(out, 0, at, Math.min(TAIL_BYTES, at + length));
    if (copied < length) ring.copy(out, copied, 0, length - copied);
    return out;
  }

  return {
    write(chunk) {
      if (broken !== undefined || result !== undefined || chunk.length === 0) return;
      try {
        const chunkStart = position;
        keep(chunk);
        position += chunk.length;
        for (const task of tasks) if (task.need?.kind === 'bytes') advance(task, chunk, chunkStart, false);
      } catch (err) {
        broken = err;
      }
    },
    finish() {
      if (result !== undefined) return result;
      try {
        if (broken === undefined) {
          for (const task of tasks) advance(task, null, position, true);
          result = detect(
            tasks.flatMap((t) => (t.result === null ? [] : [t.result])),
            position,
            opts,
          );
          return result;
        }
      } catch (err) {
        broken = err;
      }
      // Not expected to happen; if it does, nothing about the data can be vouched for.
      result = {
        format: 'raw',
        variant: null,
        virtualSize: null,
        safe: false,
        reason: 'the image format could not be inspected',
        matches: [],
        failures: [{ check: 'inspection', reason: 'the image format could not be inspected' }],
        ignored: [],
        size: position,
      };
      return result;
    },
  };
}

/**
 * Inspects data already in memory, fed in one piece (tests and tools).
 * @example inspectBuffer(readFileSync('disk.qcow2')).virtualSize
 */
export function inspectBuffer(data: Buffer, opts: InspectorOptions = {}): InspectionResult {
  const inspector = createInspector(opts);
  inspector.write(data);
  return inspector.finish();
}
