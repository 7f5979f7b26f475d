/**
 * Iris on each SQL engine, same run: list at 1,000 and 100,000 images, show and create, over
 * HTTP against one Iris process (workers=1) per engine. SQLite uses a file in a temp dir;
 * PostgreSQL 15 and MariaDB 10.11 are throwaway servers (the test starters). Load comes from
 * `BENCH_DB_CONNS` concurrent fetch loops in this process for `BENCH_DB_SECONDS` seconds per
 * request kind. Prints a Markdown section for bench/RESULTS.md.
 *
 *   node --import tsx bench/db.ts
 *   BENCH_DB_ENGINES=sqlite,postgresql BENCH_DB_BIG=20000 node --import tsx bench/db.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/persistence/database.js';
import { migrateToLatest } from '../src/persistence/migrator.js';
import { cpuModel } from './machine.js';
import { runLoad, type LoadResult } from './request-load.js';
import { startIris } from '../test/helpers/iris-server.js';
import { startMariadb } from '../test/helpers/mariadb-server.js';
import { startPostgres } from '../test/helpers/postgres-server.js';
import type { SqlServer } from '../test/helpers/sql-server.js';
import { seedImages } from './seed-images.js';

const SECONDS = Number(process.env.BENCH_DB_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_DB_CONNS ?? 8);
/** `CONNS` fetch loops for SECONDS (bench/request-load.ts). */
const load = (request: () => Promise<Response>): Promise<LoadResult> => runLoad(request, CONNS, SECONDS);
const SMALL = 1000;
const BIG = Number(process.env.BENCH_DB_BIG ?? 100_000);
const ENGINES = (process.env.BENCH_DB_ENGINES ?? 'sqlite,postgresql,mariadb').split(',');

const ADMIN = { 'X-Roles': 'admin', 'X-Project-Id': 'bench', Accept: 'application/json' };

async function benchEngine(name: string): Promise<Map<string, LoadResult>> {
  const results = new Map<string, LoadResult>();
  const dir = await mkdtemp(join(tmpdir(), 'iris-bench-db-'));
  let server: SqlServer | undefined;
  try {
    let url = `sqlite:///${join(dir, 'iris.sqlite')}`;
    if (name === 'postgresql') server = await startPostgres();
    if (name === 'mariadb') server = await startMariadb();
    if (server !== undefined) url = server.url;
    const database = openDatabase({ url });
    await migrateToLatest(database.db, database.engine);
    await seedImages(database, SMALL);
    const conf = join(dir, 'iris.conf');
    await writeFile(conf, `[database]\nconnection = ${url}\n`);
    const iris = await startIris({ args: ['--config-file', conf], dataDir: join(dir, 'data') });
    try {
      const base = iris.baseUrl;
      const one = (await (await fetch(`${base}/v2/images?limit=1`, { headers: ADMIN })).json()) as { images: { id: string }[] };
      const id = one.images[0]!.id;
      results.set(`list ${SMALL}`, await load(() => fetch(`${base}/v2/images`, { headers: ADMIN })));
      results.set('show', await load(() => fetch(`${base}/v2/images/${id}`, { headers: ADMIN })));
      results.set(
        'create',
        await load(() =>
          fetch(`${base}/v2/images`, {
            method: 'POST',
            headers: { ...ADMIN, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: 'bench-create', disk_format: 'raw', container_format: 'bare' }),
          }),
        ),
      );
      const have = SMALL + (results.get('create')?.reqs ?? 0);
      const seedStart = performance.now();
      await seedImages(database, BIG - have, SMALL + 1);
      process.stderr.write(`${name}: seeded to ${BIG} images in ${((performance.now() - seedStart) / 1000).toFixed(1)} s\n`);
      results.set(`list ${BIG}`, await load(() => fetch(`${base}/v2/images`, { headers: ADMIN })));
      results.set(`list ${BIG} sort=name:asc`, await load(() => fetch(`${base}/v2/images?sort=name:asc`, { headers: ADMIN })));
    } finally {
      await iris.stop();
      await database.close();
    }
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

const before = loadavg().map((n) => n.toFixed(2)).join(' ');
const all = new Map<string, Map<string, LoadResult>>();
for (const engine of ENGINES) {
  process.stderr.write(`${engine}…\n`);
  all.set(engine, await benchEngine(engine));
}
const after = loadavg().map((n) => n.toFixed(2)).join(' ');

const rows = [...(all.values().next().value ?? new Map<string, LoadResult>()).keys()];
const lines = [
  `# SQL engines: ${new Date().toISOString()}`,
  '',
  `- machine: ${cpuModel()}, load average before ${before}, after ${after}`,
  `- one Iris process (workers=1) per engine, ${CONNS} concurrent fetch loops in the bench process, ${SECONDS} s per row; req/s and p50 / p99 ms`,
  '',
  `| request | ${ENGINES.map((e) => `${e} req/s | p50 / p99`).join(' | ')} |`,
  `|---|${ENGINES.map(() => '---|---|').join('')}`,
];
for (const row of rows) {
  const cells = ENGINES.map((e) => {
    const r = all.get(e)?.get(row);
    if (r === undefined) return ' | ';
    return `${r.rps.toFixed(0)}${r.errors > 0 ? ` (${r.errors} errors)` : ''} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}`;
  });
  lines.push(`| ${row} | ${cells.join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
