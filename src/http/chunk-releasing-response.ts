/**
 * Lets the blob read streams that can reuse their buffers (the filesystem store's, the image
 * cache's) write straight into an HTTP response: marks the response RELEASES_WRITTEN_CHUNKS
 * (src/blob/blob-driver.ts). The HTTP layer decides, since only it knows what the response is.
 */
import { ServerResponse } from 'node:http';
import { RELEASES_WRITTEN_CHUNKS } from '../blob/blob-driver.js';

/**
 * Marks `res` when it is Node's own response, whose write callback fires once the socket has
 * the bytes; a subclass or look-alike (light-my-request's injected response, say) might keep
 * the chunk, and is left unmarked (a stream piped into it takes the ordinary path).
 */
export function offerChunkRelease(res: ServerResponse): void {
  if (Object.getPrototypeOf(res) !== ServerResponse.prototype) return;
  Object.defineProperty(res, RELEASES_WRITTEN_CHUNKS, { value: true });
}
