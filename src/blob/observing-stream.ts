/**
 * The observer stage of the upload pipeline: a pass-through Transform that shows each chunk to
 * a `DataObserver` (the format inspector) and lets it veto the data before it ends. It sits
 * after the hashing stream, so it only sees data that passed the size checks, and because it
 * fails before its readable side ends, a driver reading from it never commits vetoed data.
 */
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { DataObserver } from '../domain/ports.js';

/** Buffering on each side; the observer is synchronous, so little is needed. */
const HIGH_WATER_MARK = 64 * 1024;

/** Pass-through stream calling `observer.chunk` per chunk and `observer.end` before it ends. */
export class ObservingStream extends Transform {
  readonly #observer: DataObserver;

  constructor(observer: DataObserver) {
    super({ readableHighWaterMark: HIGH_WATER_MARK, writableHighWaterMark: HIGH_WATER_MARK });
    this.#observer = observer;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#observer.chunk(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#observer.end();
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }
}
