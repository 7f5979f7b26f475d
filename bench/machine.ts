/** The processor a benchmark ran on, as every results table names it (Intel and AMD rank Iris and Glance differently). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** `lscpu`'s "Model name", or /proc/cpuinfo's "model name" where lscpu is missing. */
export function cpuModel(): string {
  try {
    const line = /^Model name:\s*(.+)$/m.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1];
    if (line !== undefined) return line.trim();
  } catch {
    // No lscpu (util-linux): the kernel's own line below.
  }
  return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
}

/** The model and how many CPUs this process may use. */
export function processor(): string {
  return `${cpuModel()}, ${availableParallelism()} CPUs available`;
}
