/**
 * Whether uploaded data may become the image it was declared to be: the inspection result
 * against the image's `disk_format` and `container_format`.
 *
 * | data                        | declared checkable format        | declared ami/ari/aki/ploop/none |
 * |-----------------------------|----------------------------------|---------------------------------|
 * | unsafe (any format)         | refused                          | refused                         |
 * | gpt whose MBR/GPT checks fail | refused (unless non-fatal)     | accepted (a kernel or ramdisk carries the boot signature without a partition table) |
 * | the declared format         | accepted, virtual_size set       | —                               |
 * | another format              | refused when require_image_format_match, else accepted | accepted, virtual_size null |
 *
 * "Checkable" formats are the ones an inspector recognises: raw, qcow2, vmdk, vhd, vhdx, vdi,
 * iso and gpt. A partitioned disk (`gpt`) is a raw disk, so it matches `raw` as well. Only
 * `bare` containers (or none) hold a disk image as is; for ovf, ova, docker… the data is an
 * archive, so only its safety is checked, as Glance only inspects bare images.
 *
 * Glance 2025.1 differs in one respect: it lets a safe image of another format through as
 * `raw`. Iris refuses it when require_image_format_match is on, since qcow2 bytes labelled raw
 * are how a backing file reaches a tool that probes instead of trusting the label.
 */
import type { InspectionResult } from './detect.js';
import type { DetectedFormat } from './format-inspector.js';

export interface DeclaredFormat {
  readonly diskFormat: string | null;
  readonly containerFormat: string | null;
}

export interface DeclaredFormatOptions {
  /** `[image_format] require_image_format_match`: refuse data that is not the declared format. */
  readonly requireImageFormatMatch: boolean;
}

export type Verdict =
  | { readonly accept: true; readonly virtualSize: number | null }
  | { readonly accept: false; readonly reason: string };

/** For each declared disk_format the inspector can check, the detected formats that satisfy it. */
const SATISFIED_BY: Readonly<Record<string, readonly DetectedFormat[]>> = {
  raw: ['raw', 'gpt'],
  gpt: ['gpt'],
  iso: ['iso'],
  qcow2: ['qcow2'],
  vmdk: ['vmdk'],
  vhd: ['vhd'],
  vhdx: ['vhdx'],
  vdi: ['vdi'],
};

/**
 * Judges inspected data against what the image declares.
 * @example judgeDeclaredFormat(result, { diskFormat: 'qcow2', containerFormat: 'bare' }, { requireImageFormatMatch: true })
 */
export function judgeDeclaredFormat(result: InspectionResult, declared: DeclaredFormat, opts: DeclaredFormatOptions): Verdict {
  const expected = declared.diskFormat === null ? undefined : SATISFIED_BY[declared.diskFormat];
  const isDisk = declared.containerFormat === null || declared.containerFormat === 'bare';
  const checkable = expected !== undefined && isDisk;

  const partitionChecksOnly = result.matches.length === 1 && result.format === 'gpt';
  if (!result.safe && (checkable || !partitionChecksOnly)) {
    return { accept: false, reason: `Image failed safety checks: ${result.reason ?? 'unknown reason'}.` };
  }
  if (!checkable) return { accept: true, virtualSize: null };
  if (expected.includes(result.format)) return { accept: true, virtualSize: glanceVirtualSize(result.virtualSize) };
  if (opts.requireImageFormatMatch) {
    return { accept: false, reason: mismatchReason(declared.diskFormat ?? '', result) };
  }
  // Glance keeps raw's virtual size as the byte count even when the content is something else.
  return { accept: true, virtualSize: declared.diskFormat === 'raw' ? glanceVirtualSize(result.size) : null };
}

/** Glance stores a virtual size only when it is known and not zero. */
function glanceVirtualSize(size: number | null): number | null {
  return size === null || size === 0 ? null : size;
}

/**
 * What was received and the likely cause, for the person reading the 400: an empty body, or
 * binary data mangled by `curl -d` (which drops line breaks, so a qcow2 header looks like raw).
 */
function mismatchReason(diskFormat: string, result: InspectionResult): string {
  const prefix = `Image disk_format ${diskFormat} does not match the uploaded data`;
  if (result.size === 0) {
    return `${prefix}: received 0 bytes. The request carried no image data; check that the client sent the file (with curl: --data-binary @file or -T file).`;
  }
  const received = `${prefix}, which is ${describe(result)} (received ${result.size} bytes)`;
  if (result.format !== 'raw') return `${received}.`;
  return `${received}; if you uploaded with curl -d, use --data-binary @file or -T file instead: -d strips line breaks from binary data.`;
}

function describe(result: InspectionResult): string {
  if (result.format === 'raw') return 'raw (no known image format)';
  if (result.format === 'gpt') return 'a raw disk with a partition table';
  return result.variant === null ? result.format : `${result.format} (${result.variant})`;
}
