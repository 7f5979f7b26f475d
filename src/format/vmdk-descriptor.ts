/**
 * The VMDK descriptor: the text that says what kind of disk this is (`createType`) and where
 * its data lives (extent lines such as `RW 2048 SPARSE "disk.vmdk"` or
 * `RW 2048 FLAT "/etc/passwd" 0`). It is embedded at sector 1 of sparse files and is the whole
 * content of a descriptor file.
 *
 * Parsing is cautious, because QEMU's own parser is lax (it searches the text for substrings):
 * every line must be a comment, a `key = value` line, a `ddb.` line or an extent line, and a
 * key QEMU searches for must appear exactly once, so that what is checked here is what QEMU
 * reads.
 */

/** One extent line. */
export interface VmdkExtent {
  readonly access: string;
  readonly sectors: number;
  /** SPARSE, FLAT, VMFS, VMFSSPARSE, SESPARSE, ZERO… (upper case). */
  readonly type: string;
  /** The quoted file name, or null when the line has none. */
  readonly file: string | null;
}

export interface VmdkDescriptor {
  /** The `createType` value, or null when absent or given more than once. */
  readonly createType: string | null;
  readonly extents: readonly VmdkExtent[];
  /** True when the text mentions `parentFileNameHint`: QEMU then opens a backing file. */
  readonly hasParent: boolean;
  /** Lines that are none of the known kinds; any makes the descriptor unacceptable. */
  readonly unknownLines: number;
}

const KEY_VALUE = /^([A-Za-z][\w.]*)\s*=\s*(.*)$/;
const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?$/i;

/**
 * Parses descriptor text (already cut at its first NUL, as QEMU reads it).
 * @example parseDescriptor('createType="monolithicSparse"\nRW 2048 SPARSE "a.vmdk"\n').createType
 */
export function parseDescriptor(text: string): VmdkDescriptor {
  let createType: string | null = null;
  let createTypes = 0;
  const extents: VmdkExtent[] = [];
  let unknownLines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = EXTENT.exec(line);
    if (extent !== null) {
      // Groups 1-3 always participate in a match.
      extents.push({
        access: extent[1]!.toUpperCase(),
        sectors: Number(extent[2]),
        type: extent[3]!.toUpperCase(),
        file: extent[4] ?? null,
      });
      continue;
    }
    const pair = KEY_VALUE.exec(line);
    if (pair === null) {
      unknownLines++;
      continue;
    }
    // Both groups always participate in a match.
    if (pair[1]!.toLowerCase() === 'createtype') {
      createTypes++;
      createType = unquote(pair[2]!);
    }
  }
  // QEMU takes the first "createType" anywhere in the text, comments included; one that is
  // not on its own key line, or two of them, would let the two readings differ.
  const mentions = text.toLowerCase().split('createtype').length - 1;
  return {
    createType: createTypes === 1 && mentions === 1 ? createType : null,
    extents,
    hasParent: text.toLowerCase().includes('parentfilenamehint'),
    unknownLines,
  };
}

function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}
