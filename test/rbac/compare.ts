/**
 * Compares a run of the RBAC scenario with the recorded Glance matrix: every cell must be
 * equal, or listed in differences.json with the value Iris gives and why. A difference where
 * Iris permits or reveals more than Glance is never acceptable.
 */
import type { MatrixResult } from './scenario.js';

export interface Difference {
  /** `images:kind/action/persona`, `lists:persona/filter` or `creates:variant/persona`. */
  readonly cell: string;
  readonly glance: number | string[];
  readonly iris: number | string[];
  readonly reason: string;
}

export interface Mismatch {
  readonly cell: string;
  readonly expected: number | string[];
  readonly actual: number | string[] | undefined;
}

type Table = 'images' | 'lists' | 'creates';
const TABLES: readonly Table[] = ['images', 'lists', 'creates'];

/** Every cell of `expected`, as `table:key` → value. */
export function flatten(result: MatrixResult): Map<string, number | string[]> {
  const out = new Map<string, number | string[]>();
  for (const table of TABLES) for (const [key, value] of Object.entries(result[table])) out.set(`${table}:${key}`, value);
  return out;
}

/** Cells where `actual` differs from `expected`. */
export function mismatches(expected: MatrixResult, actual: MatrixResult): Mismatch[] {
  const got = flatten(actual);
  const out: Mismatch[] = [];
  for (const [cell, value] of flatten(expected)) {
    const other = got.get(cell);
    if (JSON.stringify(other) !== JSON.stringify(value)) out.push({ cell, expected: value, actual: other });
  }
  for (const cell of got.keys()) if (!flatten(expected).has(cell)) out.push({ cell, expected: [], actual: got.get(cell) });
  return out;
}

/**
 * Whether `actual` permits or reveals more than `expected`: success where Glance refused,
 * 403 (the image exists) where Glance said 404, or an image listed that Glance did not list.
 */
export function permitsMore(expected: number | string[], actual: number | string[] | undefined): boolean {
  if (actual === undefined) return false;
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (expected >= 400 && actual < 400) return true;
    return expected === 404 && actual !== 404 && actual < 500;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.some((kind) => !expected.includes(kind));
  return true;
}
