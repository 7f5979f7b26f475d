/**
 * The final word on what a stream of image data is, from the findings of every inspector:
 * which format, its virtual size, and whether it is safe.
 *
 * - No inspector recognised the data: it is raw, and its virtual size is its size.
 * - One did: that format, safe when none of its checks failed.
 * - Several did: refused, because the data would mean different things to tools that probe
 *   differently (a qcow2 header in front of an ISO is a classic way to smuggle a backing
 *   file). Two combinations are legitimate and resolved: an ISO with a partition table in its
 *   system area (a hybrid ISO) is an ISO, as Glance decides; and a fixed VHD, whose payload is
 *   a raw disk that may well be partitioned or an ISO, is a VHD.
 * - A `gpt` disk's failed checks listed in `gptSafetyChecksNonfatal` are kept but do not make
 *   it unsafe (Glance's `[image_format] gpt_safety_checks_nonfatal`).
 */
import type { CheckFailure, DetectedFormat, FormatFinding } from './format-inspector.js';

/** What an inspected stream is. */
export interface InspectionResult {
  readonly format: DetectedFormat;
  /** Sub-format when known: `fixed`/`dynamic` VHD, the VMDK create type, `gpt`/`mbr`… */
  readonly variant: string | null;
  /** The virtual size `qemu-img info` reports for the data, in bytes; null when unknown. */
  readonly virtualSize: number | null;
  readonly safe: boolean;
  /** Why the data is unsafe (for an error message); null when safe. */
  readonly reason: string | null;
  /** Every format whose signature the data carries, in a stable order. */
  readonly matches: readonly DetectedFormat[];
  /** Failed checks that make the data unsafe. */
  readonly failures: readonly CheckFailure[];
  /** Failed checks that configuration made non-fatal. */
  readonly ignored: readonly CheckFailure[];
  /** Bytes inspected. */
  readonly size: number;
}

export interface DetectOptions {
  /** Names of `gpt` checks (`mbr`, `gptmbr`) whose failure is only reported. */
  readonly gptSafetyChecksNonfatal?: readonly string[];
}

/**
 * Decides from the findings of all inspectors, in inspector order.
 * @example detect([qcow2Finding], 196616) // → { format: 'qcow2', safe: true, … }
 */
export function detect(findings: readonly FormatFinding[], size: number, opts: DetectOptions = {}): InspectionResult {
  const matches = findings.map((f) => f.format);
  const [first] = findings;
  if (first === undefined) {
    return { format: 'raw', variant: null, virtualSize: size, safe: true, reason: null, matches: [], failures: [], ignored: [], size };
  }
  const chosen = choose(findings);
  if (chosen === undefined) {
    const reason = `the data matches several formats (${matches.join(', ')})`;
    return {
      format: first.format,
      variant: first.variant ?? null,
      virtualSize: null,
      safe: false,
      reason,
      matches,
      failures: [{ check: 'ambiguous', reason }],
      ignored: [],
      size,
    };
  }
  const nonfatal = new Set(chosen.format === 'gpt' ? (opts.gptSafetyChecksNonfatal ?? []) : []);
  const failures = chosen.failures.filter((f) => !nonfatal.has(f.check));
  const ignored = chosen.failures.filter((f) => nonfatal.has(f.check));
  return {
    format: chosen.format,
    variant: chosen.variant ?? null,
    virtualSize: chosen.virtualSize,
    safe: failures.length === 0,
    reason: failures.length === 0 ? null : describeFailures(failures),
    matches,
    failures,
    ignored,
    size,
  };
}

/** The one finding that stands for the data, or undefined when they conflict. */
function choose(findings: readonly FormatFinding[]): FormatFinding | undefined {
  if (findings.length === 1) return findings[0];
  const byFormat = new Map(findings.map((f) => [f.format, f]));
  const others = (format: DetectedFormat) => findings.filter((f) => f.format !== format).map((f) => f.format);
  const fixedVhd = byFormat.get('vhd');
  if (fixedVhd?.variant === 'fixed' && others('vhd').every((f) => f === 'gpt' || f === 'iso')) return fixedVhd;
  const iso = byFormat.get('iso');
  if (iso !== undefined && findings.length === 2 && byFormat.has('gpt')) return iso;
  return undefined;
}

/** One reason per failed check, in order: several findings of one check say the same thing. */
function describeFailures(failures: readonly CheckFailure[]): string {
  const byCheck = new Map<string, string>();
  for (const f of failures) if (!byCheck.has(f.check)) byCheck.set(f.check, f.reason);
  return [...byCheck.values()].join('; ');
}
