/**
 * The cost of notifications, same run: metadata requests (create, which sends image.create, and
 * PATCH, which sends image.update) against one Iris without notifications and one publishing to
 * a throwaway RabbitMQ (messagingv2), and the same with the broker killed (the outbound queue
 * fills, then drops). Rounds alternate the servers so machine noise hits all alike. Prints a
 * Markdown section for bench/RESULTS.md.
 *
 *   node --import tsx bench/notifications.ts
 *   BENCH_NOTIFY_SECONDS=10 BENCH_NOTIFY_ROUNDS=3 node --import tsx bench/notifications.ts
 */
import { loadavg } from 'node:os';
import { cpuModel } from './machine.js';
import { runLoad, type LoadResult } from './request-load.js';
import { startIris, type IrisProcess } from '../test/helpers/iris-server.js';
import { startRabbit } from '../test/helpers/rabbitmq-server.js';

const SECONDS = Number(process.env.BENCH_NOTIFY_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_NOTIFY_CONNS ?? 8);
const ROUNDS = Number(process.env.BENCH_NOTIFY_ROUNDS ?? 3);
const HEADERS = { 'X-Roles': 'admin', 'X-Project-Id': 'bench', 'Content-Type': 'application/json' };
const PATCH = { ...HEADERS, 'Content-Type': 'application/openstack-images-v2.1-json-patch' };

async function measure(iris: IrisProcess): Promise<{ create: LoadResult; patch: LoadResult }> {
  const base = iris.baseUrl;
  const create = await runLoad(
    () => fetch(`${base}/v2/images`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ name: 'bench', disk_format: 'raw', container_format: 'bare' }) }),
    CONNS,
    SECONDS,
  );
  const made = (await (await fetch(`${base}/v2/images`, { method: 'POST', headers: HEADERS, body: '{}' })).json()) as { id: string };
  let n = 0;
  const patch = await runLoad(
    () => fetch(`${base}/v2/images/${made.id}`, { method: 'PATCH', headers: PATCH, body: JSON.stringify([{ op: 'replace', path: '/name', value: `n${(n += 1)}` }]) }),
    CONNS,
    SECONDS,
  );
  return { create, patch };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const rabbit = await startRabbit();
const on = { IRIS__OSLO_MESSAGING_NOTIFICATIONS__DRIVER: 'messagingv2', IRIS__OSLO_MESSAGING_NOTIFICATIONS__TRANSPORT_URL: rabbit.url.replace(/^amqp:/, 'rabbit:') };
const servers = { off: await startIris(), on: await startIris({ env: on }) };
const results: Record<string, { create: number[]; patch: number[]; p99: number[] }> = {};
const record = (name: string, r: { create: LoadResult; patch: LoadResult }): void => {
  const row = (results[name] ??= { create: [], patch: [], p99: [] });
  row.create.push(r.create.rps);
  row.patch.push(r.patch.rps);
  row.p99.push(r.patch.p99);
  if (r.create.errors + r.patch.errors > 0) throw new Error(`${name}: ${r.create.errors + r.patch.errors} errors`);
};
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const name of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) record(name, await measure(servers[name]));
  }
  await rabbit.kill();
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const name of ['off', 'on'] as const) record(name === 'on' ? 'on, broker down' : 'off (broker-down rounds)', await measure(servers[name]));
  }
} finally {
  await servers.off.stop();
  await servers.on.stop();
  await rabbit.stop();
}

const [l1, l5] = loadavg();
console.log(`## Notifications on vs off (bench/notifications.ts)\n`);
console.log(`${cpuModel()}; load average ${l1!.toFixed(2)} / ${l5!.toFixed(2)}; ${CONNS} connections, ${SECONDS} s per cell, median of ${ROUNDS} rounds.\n`);
console.log('| Iris | create req/s | PATCH req/s | PATCH p99 ms |');
console.log('|---|---|---|---|');
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${median(r.create).toFixed(0)} | ${median(r.patch).toFixed(0)} | ${median(r.p99).toFixed(1)} |`);
}
