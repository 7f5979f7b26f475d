/**
 * A one-writer, one-reader ring of text records in a SharedArrayBuffer: how the main thread
 * hands notifications to the notification thread without a postMessage each. A postMessage to a
 * thread that sleeps costs the sender a wake-up (measured: tens of µs on the event loop under
 * load, whatever it carries); writing a record here costs its UTF-8 copy. The reader drains the
 * ring on its own timer while there is traffic, and only when it found the ring empty does it
 * wait on the write position: then the writer wakes it (Atomics.notify), once.
 *
 * Records: a 32-bit length, then the UTF-8 bytes. A record that does not fit before the end of
 * the ring starts again at offset 0, after a wrap mark (or fewer than 4 bytes left). Positions are
 * byte offsets; read === write means empty, so the writer always leaves one byte free.
 */

/** Int32 words of the control buffer. */
const W_WRITE = 0;
const W_READ = 1;
/** 1 while the reader waits on W_WRITE for news. */
const W_SLEEPING = 2;
const CONTROL_WORDS = 3;
const WRAP = 0xffffffff;
const HEADER = 4;

export interface RingBuffers {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

export function createRingBuffers(bytes: number): RingBuffers {
  return { control: new SharedArrayBuffer(CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT), data: new SharedArrayBuffer(bytes) };
}

/** The main thread's end. */
export interface RingWriter {
  /** Appends `text` as one record; false (nothing written) when the ring has no room for it now. */
  write(text: string): boolean;
}

export function ringWriter(buffers: RingBuffers): RingWriter {
  const control = new Int32Array(buffers.control);
  const data = new Uint8Array(buffers.data);
  const view = new DataView(buffers.data);
  const size = data.length;
  const encoder = new TextEncoder();
  let write = Atomics.load(control, W_WRITE);

  /** Encodes `text` at `at` if it fits below `end`; the position after it, or -1. */
  function put(text: string, at: number, end: number): number {
    if (end - at <= HEADER) return -1;
    const { read, written } = encoder.encodeInto(text, data.subarray(at + HEADER, end));
    if (read !== text.length) return -1;
    view.setUint32(at, written);
    return at + HEADER + written;
  }

  function publish(position: number): void {
    write = position;
    Atomics.store(control, W_WRITE, position);
    if (Atomics.load(control, W_SLEEPING) === 1) {
      Atomics.store(control, W_SLEEPING, 0);
      Atomics.notify(control, W_WRITE);
    }
  }

  return {
    write(text) {
      const read = Atomics.load(control, W_READ);
      if (write < read) {
        const next = put(text, write, read - 1);
        if (next < 0) return false;
        publish(next);
        return true;
      }
      // Free: from here to the end, then (after a wrap) up to one byte before the reader.
      const next = put(text, write, read === 0 ? size - 1 : size);
      if (next >= 0) {
        publish(next);
        return true;
      }
      if (read === 0) return false;
      const wrapped = put(text, 0, read - 1);
      if (wrapped < 0) return false;
      if (size - write >= HEADER) view.setUint32(write, WRAP);
      publish(wrapped);
      return true;
    },
  };
}

/** The notification thread's end. */
export interface RingReader {
  /** Calls `onRecord` with each record written so far, in order; returns how many. */
  drain(onRecord: (text: string) => void): number;
  /**
   * Resolves once the writer has written something new (at once if it already has). Call it only
   * after a drain that found nothing.
   */
  news(): Promise<void>;
}

export function ringReader(buffers: RingBuffers): RingReader {
  const control = new Int32Array(buffers.control);
  const bytes = Buffer.from(buffers.data);
  const size = bytes.length;
  let read = Atomics.load(control, W_READ);

  return {
    drain(onRecord) {
      const write = Atomics.load(control, W_WRITE);
      let count = 0;
      while (read !== write) {
        const length = size - read < HEADER ? WRAP : bytes.readUInt32BE(read);
        if (length === WRAP) {
          read = 0;
          continue;
        }
        // toString copies: the bytes can be handed back to the writer at once.
        const text = bytes.toString('utf8', read + HEADER, read + HEADER + length);
        read += HEADER + length;
        Atomics.store(control, W_READ, read);
        count += 1;
        onRecord(text);
      }
      return count;
    },
    async news() {
      const seen = read;
      Atomics.store(control, W_SLEEPING, 1);
      // Written meanwhile: no wait ('not-equal'). Written after this: the writer saw the flag.
      const waited = (Atomics as unknown as AtomicsWaitAsync).waitAsync(control, W_WRITE, seen);
      if (waited.async) await waited.value;
      Atomics.store(control, W_SLEEPING, 0);
    },
  };
}

/** ES2024's Atomics.waitAsync (in Node since 16; not in this project's TypeScript lib). */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}
