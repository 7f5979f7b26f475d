/**
 * Glance's `image_conversion` import plugin: converts the staged image to
 * `[image_conversion] output_format` with `qemu-img convert`.
 *
 * qemu-img follows backing files, external data files and VMDK extents named inside an image,
 * so it is the classic way to make a server read its own files (CVE-2024-32498). As in Glance
 * (glance/async_/flows/plugins/image_conversion.py), nothing reaches qemu-img before the image
 * has been checked:
 * 1. the disk_format must be one qemu-img converts and an inspector knows (raw, qcow2, vmdk,
 *    vhd, vhdx, vdi; Glance: "Unable to convert from format iso");
 * 2. the whole staged file streams through Iris's format inspector and is judged exactly as an
 *    upload is, with require_image_format_match on whatever the configuration says: unsafe
 *    data (backing file, data file, VMDK extents, ambiguous formats) and data that is not the
 *    declared format are refused;
 * 3. `qemu-img info -f <format>` must agree (format, no backing file, no data file) — Glance's
 *    second opinion, kept here as defence in depth;
 * 4. `qemu-img convert -f <format> -O <output>`, the source format always explicit so qemu-img
 *    never probes.
 * The image then declares the output format and container bare (as Glance sets). An image
 * already in the output format is checked the same way but not converted.
 *
 * Iris also converts vhd sources (qemu-img calls the format vpc; Glance passes `-f vhd`, which
 * qemu-img does not know), and refuses before converting when the raw result would exceed
 * image_size_cap (a tiny qcow2 can declare a huge virtual size).
 */
import { Invalid, TooLarge } from '../../domain/errors.js';
import type { FormatCheckOptions } from '../../format/upload-check.js';
import { createUploadCheck } from '../../format/upload-check.js';
import type { ImportPlugin, ImportPluginContext, ImportPluginResult } from '../../domain/ports.js';
import { briefly, runTool } from './run-tool.js';
import { readWhole, tempFileFor } from './staged-file.js';
import { stat } from 'node:fs/promises';

/** Disk formats the plugin converts from, with qemu-img's name for each; every output format is one. */
const QEMU_FORMAT: Readonly<Record<string, string> & Record<ImageConversionOptions['outputFormat'], string>> = {
  raw: 'raw',
  qcow2: 'qcow2',
  vmdk: 'vmdk',
  vhd: 'vpc',
  vhdx: 'vhdx',
  vdi: 'vdi',
};

/** Glance runs `qemu-img info` under a 30 s CPU limit; a wall-clock bound does the same job here. */
const INFO_TIMEOUT_MS = 30_000;

export interface ImageConversionOptions {
  /** `[image_conversion] output_format`. */
  readonly outputFormat: 'raw' | 'qcow2' | 'vmdk';
  /** `[DEFAULT] image_size_cap`, bytes. */
  readonly imageSizeCap: number;
  /** `[image_format] gpt_safety_checks_nonfatal` (require_image_format_match is forced on). */
  readonly gptSafetyChecksNonfatal: readonly string[];
  /** The qemu-img executable (default `qemu-img`, found on PATH as Glance does). */
  readonly qemuImg?: string;
  /** Told each time qemu-img is about to run (for logs). */
  readonly onRun?: (info: { readonly imageId: string; readonly args: readonly string[] }) => void;
}

/**
 * Creates the plugin.
 * @example createImageConversionPlugin({ outputFormat: 'raw', imageSizeCap: 1 << 40, gptSafetyChecksNonfatal: [] })
 */
export function createImageConversionPlugin(opts: ImageConversionOptions): ImportPlugin {
  const qemuImg = opts.qemuImg ?? 'qemu-img';
  const checks: FormatCheckOptions = { requireImageFormatMatch: true, gptSafetyChecksNonfatal: opts.gptSafetyChecksNonfatal };
  const output = opts.outputFormat;

  async function qemu(ctx: ImportPluginContext, args: string[], timeoutMs?: number) {
    opts.onRun?.({ imageId: ctx.imageId, args });
    return runTool(qemuImg, args, { signal: ctx.signal, timeoutMs });
  }

  return {
    name: 'image_conversion',
    async run(ctx): Promise<ImportPluginResult | void> {
      const declared = ctx.image.disk_format ?? '';
      const source = QEMU_FORMAT[declared];
      if (source === undefined) throw new Invalid(`Unable to convert from format ${declared || 'None'}`);

      // 1-2. The inspector's verdict on the whole file, before any tool sees it.
      const check = createUploadCheck({ diskFormat: declared, containerFormat: 'bare' }, checks);
      try {
        for await (const chunk of readWhole(ctx.stagedPath, ctx.signal)) check.observer.chunk(chunk);
      } catch (error) {
        throw ctx.signal.aborted ? ctx.signal.reason : error;
      }
      try {
        check.observer.end();
      } catch (error) {
        if (error instanceof Invalid) throw new Invalid(`Image conversion refused: ${error.message}`);
        throw error;
      }
      const virtualSize = check.virtualSize();

      // 3. qemu-img's own reading, with the format given.
      const info = await qemu(ctx, ['info', '-f', source, '--output=json', ctx.stagedPath], INFO_TIMEOUT_MS);
      if (info.code !== 0) throw new Invalid(`Image conversion failed: qemu-img info: ${briefly(info.stderr) || `exit code ${info.code}`}`);
      let metadata: Record<string, any>;
      try {
        metadata = JSON.parse(info.stdout) as Record<string, any>;
      } catch {
        throw new Invalid('Image conversion failed: qemu-img info gave no JSON');
      }
      if (metadata.format !== source) throw new Invalid('Image conversion refused: Image metadata disagrees about format');
      if ('backing-filename' in metadata) throw new Invalid('Image conversion refused: QCOW images with backing files are not allowed');
      if (metadata['format-specific']?.data?.['data-file'] !== undefined) {
        throw new Invalid('Image conversion refused: QCOW images with data-file set are not allowed');
      }

      if (declared === output) return; // Glance: "Source is already in target format".

      const resultSize = virtualSize ?? (typeof metadata['virtual-size'] === 'number' ? metadata['virtual-size'] : null);
      if (output === 'raw' && resultSize !== null && resultSize > opts.imageSizeCap) {
        throw new TooLarge(`Image conversion refused: the raw image would be ${resultSize} bytes, over the image size cap of ${opts.imageSizeCap} bytes.`);
      }

      // 4. Convert into a temp file, then put it in place.
      const temp = await tempFileFor(ctx, output);
      try {
        const run = await qemu(ctx, ['convert', '-q', '-f', source, '-O', QEMU_FORMAT[output], ctx.stagedPath, temp.path]);
        if (run.code !== 0) {
          throw new Invalid(`Image conversion failed: qemu-img convert: ${briefly(run.stderr) || `exit code ${run.code ?? run.signal}`}`);
        }
        const { size } = await stat(temp.path);
        if (size > opts.imageSizeCap) {
          throw new TooLarge(`Image conversion failed: the converted image is ${size} bytes, over the image size cap of ${opts.imageSizeCap} bytes.`);
        }
        await temp.commit();
      } finally {
        await temp.discard();
      }
      return { disk_format: output, container_format: 'bare' };
    },
  };
}
