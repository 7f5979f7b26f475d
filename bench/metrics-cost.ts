/**
 * What the metrics cost: show (GET /v2/images/{id}) req/s on one Iris with metrics on (the
 * default admin listener) and one with them off (`[iris] admin_bind_host =` empty: nothing is
 * recorded), same run, rounds alternated so drift on a shared machine hits both alike. Load
 * from `BENCH_METRICS_CONNS` fetch loops in this process, `BENCH_METRICS_SECONDS` per round.
 *
 *   node --import tsx bench/metrics-cost.ts
 */
import { loadavg } from 'node:os';
import { processor } from './machine.js';
import { runLoad, type LoadResult } from './request-load.js';
import { startIris, type IrisProcess } from '../test/helpers/iris-server.js';

const SECONDS = Number(process.env.BENCH_METRICS_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_METRICS_CONNS ?? 8);
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 3);
const ADMIN = { 'X-Roles': 'admin', 'X-Project-Id': 'bench', Accept: 'application/json' };

async function imageOn(iris: IrisProcess): Promise<string> {
  const res = await fetch(`${iris.baseUrl}/v2/images`, {
    method: 'POST',
    headers: { ...ADMIN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'bench', disk_format: 'raw', container_format: 'bare' }),
  });
  return ((await res.json()) as { id: string }).id;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const on = await startIris();
  const off = await startIris({ env: { IRIS__IRIS__ADMIN_BIND_HOST: '' } });
  try {
    const servers = [
      { name: 'metrics on', iris: on, id: await imageOn(on), runs: [] as LoadResult[] },
      { name: 'metrics off', iris: off, id: await imageOn(off), runs: [] as LoadResult[] },
    ];
    const load = loadAverage();
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
        s.runs.push(await runLoad(() => fetch(`${s.iris.baseUrl}/v2/images/${s.id}`, { headers: ADMIN }), CONNS, SECONDS));
      }
    }
    console.log(`\n### Metrics cost on show (${processor()}; load average before ${load})\n`);
    console.log(`${CONNS} connections, ${ROUNDS} alternated rounds of ${SECONDS} s each; median of the rounds.\n`);
    console.log('| server | show req/s | p50 ms | p99 ms | errors |');
    console.log('|---|---|---|---|---|');
    for (const s of servers) {
      const rps = median(s.runs.map((r) => r.rps));
      console.log(`| ${s.name} | ${rps.toFixed(0)} | ${median(s.runs.map((r) => r.p50)).toFixed(2)} | ${median(s.runs.map((r) => r.p99)).toFixed(2)} | ${s.runs.reduce((n, r) => n + r.errors, 0)} |`);
    }
    const [a, b] = servers.map((s) => median(s.runs.map((r) => r.rps)));
    console.log(`\nmetrics on / off: ${((a! / b!) * 100).toFixed(1)} %; load average after ${loadAverage()}`);
  } finally {
    await Promise.all([on.stop(), off.stop()]);
  }
}

function loadAverage(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

await main();
