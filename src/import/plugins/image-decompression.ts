/**
 * Glance's `image_decompression` import plugin: staged data that is a gzip stream, a zip
 * archive or an LHA archive is replaced by what it holds.
 *
 * As in Glance (glance/async_/flows/plugins/image_decompression.py):
 * - the kind is told by magic number only (zip `PK\x03\x04` at 0, LHA `-lh` at 2, gzip
 *   `1f 8b 08` at 0); anything else passes through untouched, as does every image whose
 *   container_format is `compressed` (it is meant to stay compressed);
 * - one layer is removed (a gzip inside a gzip stays a gzip);
 * - a zip or LHA archive must hold exactly one member ("Archive contains more than one file.");
 * - disk_format and container_format are left as they are.
 *
 * Where Iris differs: Glance extracts zip and LHA members into a directory named like the
 * target file and then fails to move it over the staged file, so its zip and LHA support does
 * not work; Iris streams the member out (`unzip -p`, `lha p`). Decompressed output is capped at
 * image_size_cap (Glance has no cap: a small bomb fills its staging disk). A corrupt member
 * (bad CRC, truncated) fails the import. gzip is decompressed in-process with node:zlib (as
 * Python's gzip module, concatenated members are one stream); zip uses Debian's `unzip` and
 * LHA Debian's `lhasa` (`lha`), both found on PATH.
 */
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Invalid, IrisError } from '../../domain/errors.js';
import type { ImportPlugin, ImportPluginContext } from '../../domain/ports.js';
import { briefly, runTool } from './run-tool.js';
import { createTempWriteStream, readHead, sizeCap, tempFileFor, type TempFile } from './staged-file.js';

export type CompressionKind = 'zip' | 'lha' | 'gzip';

/** Glance's MAGIC_NUMBERS: offset and bytes. */
const MAGIC: readonly { readonly kind: CompressionKind; readonly offset: number; readonly bytes: Buffer }[] = [
  { kind: 'zip', offset: 0, bytes: Buffer.from([0x50, 0x4b, 0x03, 0x04]) },
  { kind: 'lha', offset: 2, bytes: Buffer.from([0x2d, 0x6c, 0x68]) },
  { kind: 'gzip', offset: 0, bytes: Buffer.from([0x1f, 0x8b, 0x08]) },
];
const MAX_HEADER = Math.max(...MAGIC.map((m) => m.offset + m.bytes.length));

/** Listing an archive is quick; a minute is generous. */
const LIST_TIMEOUT_MS = 60_000;

/**
 * Which compression the data's first bytes announce, or null.
 * @example compressionOf(Buffer.from([0x1f, 0x8b, 0x08, 0])) // 'gzip'
 */
export function compressionOf(head: Buffer): CompressionKind | null {
  for (const m of MAGIC) {
    if (head.length >= m.offset + m.bytes.length && head.subarray(m.offset, m.offset + m.bytes.length).equals(m.bytes)) return m.kind;
  }
  return null;
}

export interface ImageDecompressionOptions {
  /** `[DEFAULT] image_size_cap`, bytes: the most decompressed data accepted. */
  readonly imageSizeCap: number;
  /** Executables (defaults `unzip` and `lha`, found on PATH). */
  readonly unzip?: string;
  readonly lha?: string;
}

/**
 * Creates the plugin.
 * @example createImageDecompressionPlugin({ imageSizeCap: config.DEFAULT.image_size_cap })
 */
export function createImageDecompressionPlugin(opts: ImageDecompressionOptions): ImportPlugin {
  const unzip = opts.unzip ?? 'unzip';
  const lha = opts.lha ?? 'lha';
  const cap = opts.imageSizeCap;
  const capGuard = () => sizeCap(cap, 'The decompressed image');

  async function gunzip(ctx: ImportPluginContext, temp: TempFile): Promise<void> {
    try {
      await pipeline(createReadStream(ctx.stagedPath), createGunzip(), capGuard(), createTempWriteStream(temp.path), { signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (error instanceof IrisError) throw error;
      throw new Invalid(`Image decompression failed: the gzip data is corrupt (${(error as Error).message})`);
    }
  }

  /** The one member's name, or Invalid (several members, none, a directory, not an archive). */
  function onlyMember(names: readonly string[], what: string): void {
    const [name, ...others] = names;
    if (name === undefined) throw new Invalid(`Image decompression failed: the ${what} archive is empty`);
    if (others.length > 0) throw new Invalid('Image decompression failed: Archive contains more than one file.');
    if (name.endsWith('/')) throw new Invalid(`Image decompression failed: the ${what} archive holds only a directory`);
  }

  async function unzipMember(ctx: ImportPluginContext, temp: TempFile): Promise<void> {
    // -Z1: zipinfo, one name per line, from the central directory (what -p extracts).
    const list = await runTool(unzip, ['-Z1', ctx.stagedPath], { signal: ctx.signal, timeoutMs: LIST_TIMEOUT_MS });
    if (list.code !== 0) throw new Invalid(`Image decompression failed: not a valid zip archive (${briefly(list.stderr || list.stdout)})`);
    onlyMember(list.stdout.split('\n').filter((name) => name !== ''), 'zip');
    // -p: to standard output; -qq: nothing else there. An encrypted member is refused rather
    // than prompting for a password (-P '' fails it as a wrong password).
    const run = await runTool(unzip, ['-p', '-qq', '-P', '', ctx.stagedPath], {
      signal: ctx.signal,
      stdout: (out) => pipeline(out, capGuard(), createTempWriteStream(temp.path)),
    });
    // unzip reports a bad CRC or a truncated member by its exit code, after the data.
    if (run.code !== 0) throw new Invalid(`Image decompression failed: unzip: ${briefly(run.stderr) || `exit code ${run.code ?? run.signal}`}`);
  }

  async function lhaMember(ctx: ImportPluginContext, temp: TempFile): Promise<void> {
    const list = await runTool(lha, ['l', ctx.stagedPath], { signal: ctx.signal, timeoutMs: LIST_TIMEOUT_MS });
    const total = /^\s*Total\s+(\d+)\s+files?\b/m.exec(list.stdout);
    if (list.code !== 0 || total === null) throw new Invalid(`Image decompression failed: not a valid LHA archive (${briefly(list.stderr)})`);
    const count = Number(total[1]);
    onlyMember(count === 1 ? [memberName(list.stdout)] : Array.from({ length: count }, () => 'member'), 'LHA');
    const run = await runTool(lha, ['pq', ctx.stagedPath], {
      signal: ctx.signal,
      stdout: (out) => pipeline(out, capGuard(), createTempWriteStream(temp.path)),
    });
    if (run.code !== 0) throw new Invalid(`Image decompression failed: lha: ${briefly(run.stderr) || `exit code ${run.code ?? run.signal}`}`);
    // `lha p` does not check CRCs; `lha t` does (and stops at the same size: the output was capped).
    const test = await runTool(lha, ['tq', ctx.stagedPath], { signal: ctx.signal });
    if (test.code !== 0) throw new Invalid(`Image decompression failed: the LHA member is corrupt (${briefly(test.stderr || test.stdout) || 'CRC error'})`);
  }

  return {
    name: 'image_decompression',
    async run(ctx) {
      // Glance: "If the container format is 'compressed' the image is expected to be compressed".
      if (ctx.image.container_format === 'compressed') return;
      const kind = compressionOf(await readHead(ctx.stagedPath, MAX_HEADER));
      if (kind === null) return;
      const temp = await tempFileFor(ctx, 'uc');
      try {
        if (kind === 'gzip') await gunzip(ctx, temp);
        else if (kind === 'zip') await unzipMember(ctx, temp);
        else await lhaMember(ctx, temp);
        await temp.commit();
      } finally {
        await temp.discard();
      }
    },
  };
}

/** The member name of a one-member `lha l` listing (the last column of its only entry line). */
function memberName(listing: string): string {
  const lines = listing.split('\n');
  const rule = lines.findIndex((line) => line.startsWith('----------'));
  const entry = rule >= 0 ? (lines[rule + 1] ?? '') : '';
  return entry.trimEnd().split(/\s+/).at(-1) ?? '';
}
