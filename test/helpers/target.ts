/**
 * The server a black-box test talks to: a fresh Iris from startIris(), or, when
 * IRIS_TEST_TARGET is set (e.g. http://127.0.0.1:9293, the reference Glance), that URL, so the
 * same test proves itself against the real Glance before it judges Iris.
 *
 * @example
 *   let target: Target;
 *   before(async () => { target = await openTarget(); });
 *   after(() => target.close());
 */
import { startIris, type IrisProcess } from './iris-server.js';

export interface Target {
  /** No trailing slash. */
  readonly baseUrl: string;
  /** The Iris child when we started one; undefined for an external target. */
  readonly iris?: IrisProcess;
  /** Server output for failure messages (empty for an external target). */
  logs(): string;
  close(): Promise<void>;
}

export async function openTarget(): Promise<Target> {
  const external = process.env.IRIS_TEST_TARGET;
  if (external !== undefined && external !== '') {
    return { baseUrl: external.replace(/\/+$/, ''), logs: () => '', close: async () => {} };
  }
  const iris = await startIris();
  return { baseUrl: iris.baseUrl, iris, logs: () => iris.logs(), close: () => iris.stop() };
}
