/**
 * QED (QEMU Enhanced Disk), a format QEMU deprecated and nothing in OpenStack uses. It is
 * recognised only to be refused: it supports backing files and no one maintains its parser
 * (Glance refuses it unconditionally too).
 *
 * Little-endian header: 0 magic "QED\0"  4 cluster_size  8 table_size  12 header_size
 *   16 features  24 compat_features  32 autoclear_features  40 l1_table_offset
 *   48 image_size (u64)  56 backing_filename_offset  60 backing_filename_size.
 */
import { hasAscii, u64le } from './binary.js';
import { bytes, finding } from './format-inspector.js';
import type { FormatInspector, Inspection } from './format-inspector.js';

/** Recognises QED images; every one of them fails the `format` check. */
export const qedInspector: FormatInspector = {
  format: 'qed',
  inspect,
};

function* inspect(): Inspection {
  const head = yield* bytes(0, 64);
  if (!hasAscii(head, 0, 'QED\0')) return null;
  const size = head.length >= 56 ? u64le(head, 48) : null;
  return finding('qed', size, [{ check: 'format', reason: 'QED images are not supported' }]);
}
