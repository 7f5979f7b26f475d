/**
 * Format inspection of one upload, packaged as the blob store's `DataObserver`: the inspector
 * sees the data in the store's single pass, and the verdict is taken when the data ends,
 * before the store commits, so data that is refused never lands in the store.
 */
import { Invalid } from '../domain/errors.js';
import type { DataObserver } from '../domain/ports.js';
import { judgeDeclaredFormat } from './declared-format.js';
import type { DeclaredFormat, Verdict } from './declared-format.js';
import type { InspectionResult } from './detect.js';
import { createInspector, type StreamInspector } from './inspector.js';
import { PORTABLE_INSPECTION_MODULE, type PortableInspectorOptions } from './portable-inspection.js';

export interface FormatCheckOptions {
  /** `[image_format] require_image_format_match`. */
  readonly requireImageFormatMatch: boolean;
  /** `[image_format] gpt_safety_checks_nonfatal`. */
  readonly gptSafetyChecksNonfatal: readonly string[];
}

export interface UploadCheck {
  /** Pass as `PutOptions.observer`; its `end` throws Invalid when the data is refused. */
  readonly observer: DataObserver;
  /** The accepted data's virtual size; null when unknown. Throws when no verdict was taken. */
  virtualSize(): number | null;
  /** What the inspector found, once the data has ended (for logs and notifications). */
  result(): InspectionResult | undefined;
}

/**
 * Starts checking an upload for an image that declares `declared`.
 *
 * @example
 * const check = createUploadCheck({ diskFormat: 'qcow2', containerFormat: 'bare' }, opts);
 * const blob = await blobs.put(id, body, { sizeCap, hashAlgo, observer: check.observer });
 * image.virtual_size = check.virtualSize();
 */
export function createUploadCheck(declared: DeclaredFormat, opts: FormatCheckOptions): UploadCheck {
  // Made on first use: an upload inspected on a transfer thread never needs one here.
  let inspector: StreamInspector | undefined;
  const local = () => (inspector ??= createInspector({ gptSafetyChecksNonfatal: opts.gptSafetyChecksNonfatal }));
  let verdict: Verdict | undefined;
  let result: InspectionResult | undefined;
  const decide = (found: InspectionResult) => {
    result = found;
    verdict = judgeDeclaredFormat(found, declared, opts);
    if (!verdict.accept) throw new Invalid(verdict.reason);
  };
  const portableOptions: PortableInspectorOptions = { gptSafetyChecksNonfatal: opts.gptSafetyChecksNonfatal };
  return {
    observer: {
      chunk: (data) => local().write(data),
      end: () => decide(local().finish()),
      // The same inspection on a transfer thread: its result comes back as plain data.
      portable: {
        module: PORTABLE_INSPECTION_MODULE,
        options: portableOptions,
        conclude: (finished) => decide(finished as InspectionResult),
      },
    },
    virtualSize() {
      if (verdict === undefined || !verdict.accept) throw new Error('the upload was stored without a format verdict');
      return verdict.virtualSize;
    },
    result: () => result,
  };
}
