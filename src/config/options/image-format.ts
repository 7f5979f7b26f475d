/** The [image_format] section's rows of the option table (see ../config-options.ts). */
import type { ConfigOption } from '../option-types.js';

export const IMAGE_FORMAT_OPTIONS = [
  {
    section: 'image_format',
    name: 'disk_formats',
    type: 'list',
    default: 'ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop',
    deprecatedNames: [{ section: 'DEFAULT', name: 'disk_formats' }],
    help:
      'Comma-separated disk formats an image may declare. The old spelling [DEFAULT] disk_formats is still ' +
      'read when this option is set nowhere, with a deprecation warning.',
  },
  {
    section: 'image_format',
    name: 'container_formats',
    type: 'list',
    default: 'ami,ari,aki,bare,ovf,ova,docker,compressed',
    deprecatedNames: [{ section: 'DEFAULT', name: 'container_formats' }],
    help:
      'Comma-separated container formats an image may declare. The old spelling [DEFAULT] container_formats ' +
      'is still read when this option is set nowhere, with a deprecation warning.',
  },
  // Format inspection (src/format/): the two options Glance added with its inspector.
  {
    section: 'image_format',
    name: 'require_image_format_match',
    type: 'boolean',
    default: 'true',
    help:
      "Whether uploaded data must be of the image's disk_format. Every upload is inspected as it streams in; " +
      'when this is true (the default, as in Glance since 2025.1) data of another format is refused with ' +
      '400 Bad Request and the image stays queued: qcow2 bytes declared raw, raw bytes declared qcow2, and so on. ' +
      'When false, such data is accepted without a virtual_size. Only bare (or unset) container formats are ' +
      'checked, and formats no inspector knows (ami, ari, aki, ploop) are always accepted. Unsafe images are ' +
      'refused whatever this says: a qcow2 with a backing file, an external data file or unknown features, a ' +
      'VMDK other than monolithicSparse or streamOptimized or naming other files, QED, truncated or impossible ' +
      'headers, and data that matches several formats.',
  },
  {
    section: 'image_format',
    name: 'gpt_safety_checks_nonfatal',
    type: 'list',
    default: '',
    help:
      'Partition-table checks whose failure does not refuse an image detected as a partitioned raw disk. ' +
      'mbr: the MBR has valid boot flags and at least one partition. gptmbr: a GPT protective MBR holds only ' +
      'the GPT entry, from sector 1, and the GPT header is intact. Glance 2025.1 made mbr non-fatal by default ' +
      'and later releases made every check fatal (an empty list); Iris follows the later releases. List ' +
      'checks here only for existing images that break the specification, such as some widely distributed ' +
      'cloud images with a non-compliant protective MBR.',
    convert: (value: readonly string[]) => {
      const unknown = value.filter((name) => name !== 'mbr' && name !== 'gptmbr');
      if (unknown.length > 0) throw new Error(`unknown check ${unknown.join(', ')} (the checks are mbr and gptmbr)`);
      return value;
    },
  },
] as const satisfies readonly ConfigOption[];
