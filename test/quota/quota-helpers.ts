/** Upload shapes and waits the quota tests need beyond test/helpers/http.ts. */
import { request } from 'node:http';
import { describe, json, type HttpAnswer } from '../helpers/http.js';

/**
 * Starts an upload declaring `declared` bytes, sends `sent` of them, and returns a function
 * that drops the connection (the client going away mid-upload).
 */
export async function startPartialUpload(
  url: string,
  declared: number,
  sent: number,
  headers: Record<string, string>,
): Promise<{ abort(): void }> {
  const req = request(url, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(declared), ...headers },
  });
  req.on('error', () => {
    // The connection is dropped on purpose; the server's side is what the test checks.
  });
  await new Promise<void>((resolve, reject) => {
    req.write(Buffer.alloc(sent, 9), (err) => (err ? reject(err) : resolve()));
  });
  return { abort: () => req.destroy() };
}

/** Polls the image until its status is `status` (a generous bound; never a fixed wait). */
export async function waitForStatus(base: string, id: string, status: string, headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last: HttpAnswer | undefined;
  while (Date.now() < deadline) {
    last = await json('GET', `${base}/v2/images/${id}`, undefined, headers);
    if (last.body?.status === status) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`image ${id} never became ${status}: ${last ? describe(last) : 'no answer'}`);
}
