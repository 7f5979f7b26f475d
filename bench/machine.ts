/** The processor a benchmark ran on, as every results table names it (Intel and AMD rank Iris and Glance differently). */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
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

/** A throwaway node HTTP server for loopback limits: 'sink' drains uploads, 'memory' serves `bytes` from one buffer. */
export async function loopbackServer(kind: 'sink' | 'memory', bytes: number): Promise<{ url: string; pid: number; stop(): void }> {
  const program = `
    const http = require('node:http');
    const body = ${kind === 'memory' ? `Buffer.alloc(${bytes}, 7)` : 'null'};
    const s = http.createServer((req, res) => {
      if (body) {
        // 4 MiB writes with backpressure, as a file server sends.
        res.setHeader('Content-Length', body.length);
        let at = 0;
        const more = () => {
          while (at < body.length) {
            const slice = body.subarray(at, at + 4194304);
            at += slice.length;
            if (!res.write(slice)) return res.once('drain', more);
          }
          res.end();
        };
        return more();
      }
      req.on('data', () => {}); req.on('end', () => res.end('ok'));
    });
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}/x`, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}
