/**
 * The format inspector as a transfer thread builds it (DataObserver.portable, fd-transfer.ts):
 * the thread feeds it the data it moves and sends `finish()`'s result back to the upload check.
 */
import { createInspector } from './inspector.js';
import type { InspectionResult } from './detect.js';
import type { InspectorOptions } from './inspector.js';

/** Options that cross threads: the inspectors themselves are always all of them. */
export type PortableInspectorOptions = Omit<InspectorOptions, 'inspectors'>;

export function createObserver(options: PortableInspectorOptions): { chunk(data: Buffer): void; finish(): InspectionResult } {
  const inspector = createInspector(options);
  return { chunk: (data) => inspector.write(data), finish: () => inspector.finish() };
}

/** The module's URL, for `DataObserver.portable.module` (a .ts file under tsx, .js in dist/). */
export const PORTABLE_INSPECTION_MODULE = import.meta.url;
