/** How images look in `iris` output: glanceclient's `print_image` record and list columns. */
import type { Image } from '../../client/index.js';
import type { Column } from '../iris-cli/output.js';

/** Links glanceclient leaves out of the detail table. */
const HIDDEN = new Set(['self', 'access', 'file', 'schema']);

/** glanceclient's `make_size_human_readable`: 1024-based, one decimal, trailing zeros dropped. */
export function humanSize(size: number | null | undefined): string {
  const suffix = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB'];
  let value = size ?? 0;
  let index = 0;
  while (value >= 1024 && index < suffix.length - 1) {
    value /= 1024;
    index++;
  }
  return `${value.toFixed(1).replace(/\.?0+$/, '')}${suffix[index]}`;
}

/**
 * The record `image-show`, `image-create` and `image-update` print: links dropped, an unknown
 * `virtual_size` spelled "Not available", `size` humanised on request.
 */
export function imageRecord(image: Image, humanReadable = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(image)) if (!HIDDEN.has(key)) out[key] = value;
  if ('virtual_size' in out) out.virtual_size = out.virtual_size || 'Not available';
  if (humanReadable) out.size = humanSize(image.size);
  return out;
}

/** `image-list` columns; `--verbose` adds the format, size, status and owner columns. */
export function imageListColumns(verbose: boolean): Column<Image>[] {
  const cols: Column<Image>[] = [
    { header: 'ID', get: (i) => i.id },
    { header: 'Name', get: (i) => i.name },
  ];
  if (verbose) {
    cols.push(
      { header: 'Disk_format', get: (i) => i.disk_format },
      { header: 'Container_format', get: (i) => i.container_format },
      { header: 'Size', get: (i) => i.size },
      { header: 'Status', get: (i) => i.status },
      { header: 'Owner', get: (i) => i.owner },
    );
  }
  return cols;
}
