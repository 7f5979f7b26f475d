/**
 * The `--progress` bar: bytes done, percentage, rate and ETA, redrawn in place on a terminal.
 * Drawn only when the target is a TTY, so logs and pipes never fill with carriage returns.
 *
 *   [==========>             ]  45%  28.8 MiB/64.0 MiB  12.5 MiB/s  ETA 00:03
 */

export interface ProgressTarget {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressBar {
  /** Bytes so far, and the total when known. */
  update(bytes: number, total: number | undefined): void;
  /** Draws the final state and moves to a new line. */
  finish(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const NO_BAR: ProgressBar = { update() {}, finish() {} };

/**
 * A bar on `target` when it is a terminal, else one that draws nothing.
 *
 * @example
 *   const bar = createProgressBar(process.stderr);
 *   await client.images.uploadFile(id, path, { onProgress: (n, total) => bar.update(n, total) });
 *   bar.finish();
 */
export function createProgressBar(target: ProgressTarget, now: () => number = Date.now, redrawMs = 100): ProgressBar {
  if (!target.isTTY) return NO_BAR;
  const started = now();
  let lastDraw = 0;
  let bytes = 0;
  let total: number | undefined;

  const draw = (): void => {
    const elapsed = Math.max(0.001, (now() - started) / 1000);
    const rate = bytes / elapsed;
    const parts: string[] = [];
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, bytes / total);
      const cols = Math.max(10, Math.min(30, (target.columns ?? 80) - 55));
      const filled = Math.floor(fraction * cols);
      const bar = '='.repeat(filled) + (filled < cols ? '>' : '') + ' '.repeat(Math.max(0, cols - filled - 1));
      parts.push(`[${bar}]`, `${String(Math.floor(fraction * 100)).padStart(3)}%`, `${formatBytes(bytes)}/${formatBytes(total)}`);
      parts.push(`${formatBytes(Math.round(rate))}/s`, `ETA ${formatEta(rate > 0 ? (total - bytes) / rate : Infinity)}`);
    } else {
      parts.push(formatBytes(bytes), `${formatBytes(Math.round(rate))}/s`);
    }
    target.write(`\r${parts.join('  ')}\u001b[K`);
  };

  return {
    update(n, t) {
      bytes = n;
      total = t;
      const at = now();
      if (at - lastDraw >= redrawMs) {
        lastDraw = at;
        draw();
      }
    },
    finish() {
      draw();
      target.write('\n');
    },
  };
}
