/**
 * Iris as N nodes behind HAProxy (test/helpers/iris-cluster.ts: one PostgreSQL, shared
 * filesystem store and staging directory), N = 1, 2, 3, plus one node without HAProxy as the
 * baseline: metadata req/s (show one image, list the first page of 1,000) and aggregate upload
 * throughput of concurrent uploads. Load comes from `BENCH_CLUSTER_CONNS` fetch loops in this
 * process for `BENCH_CLUSTER_SECONDS` s per row. On a 2-core machine the nodes, PostgreSQL,
 * HAProxy and this client share the cores: the figures show overhead and the absence of
 * collapse, not scaling. Prints a Markdown section for bench/RESULTS.md.
 *
 *   node --import tsx bench/cluster.ts
 *   BENCH_CLUSTER_NODES=1,3 BENCH_CLUSTER_SECONDS=10 node --import tsx bench/cluster.ts
 */
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { openDatabase } from '../src/persistence/database.js';
import { cpuModel } from './machine.js';
import { runLoad, type LoadResult } from './request-load.js';
import { startIrisCluster, type IrisCluster } from '../test/helpers/iris-cluster.js';
import { seedImages } from './seed-images.js';

const SECONDS = Number(process.env.BENCH_CLUSTER_SECONDS ?? 5);
const CONNS = Number(process.env.BENCH_CLUSTER_CONNS ?? 8);
/** `CONNS` fetch loops for SECONDS (bench/request-load.ts). */
const load = (request: () => Promise<Response>): Promise<LoadResult> => runLoad(request, CONNS, SECONDS);
const NODES = (process.env.BENCH_CLUSTER_NODES ?? '1,2,3').split(',').map(Number);
const IMAGES = 1000;
const UPLOADS = Number(process.env.BENCH_CLUSTER_UPLOADS ?? 6);
const UPLOAD_MIB = Number(process.env.BENCH_CLUSTER_UPLOAD_MIB ?? 64);

interface Row {
  readonly show: LoadResult;
  readonly list: LoadResult;
  /** Aggregate MiB/s of UPLOADS concurrent uploads, and how many did not end 204 with the right checksum. */
  readonly upload: { readonly mibs: number; readonly failed: number };
}

async function measure(cluster: IrisCluster, base: string): Promise<Row> {
  const headers = { ...cluster.headers, Accept: 'application/json' };
  const one = (await (await fetch(`${base}/v2/images?limit=1`, { headers })).json()) as { images: { id: string }[] };
  const id = one.images[0]!.id;
  const show = await load(() => fetch(`${base}/v2/images/${id}`, { headers }));
  const list = await load(() => fetch(`${base}/v2/images`, { headers }));

  const data = randomBytes(UPLOAD_MIB * 1024 * 1024);
  const md5 = createHash('md5').update(data).digest('hex');
  const ids: string[] = [];
  for (let i = 0; i < UPLOADS; i += 1) {
    const r = await fetch(`${base}/v2/images`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `bench-upload-${i}`, disk_format: 'raw', container_format: 'bare' }),
    });
    ids.push(((await r.json()) as { id: string }).id);
  }
  const started = performance.now();
  const statuses = await Promise.all(
    ids.map(async (imageId) => {
      const r = await fetch(`${base}/v2/images/${imageId}/file`, {
        method: 'PUT',
        headers: { ...headers, 'Content-Type': 'application/octet-stream' },
        body: data,
      });
      await r.arrayBuffer();
      return r.status;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  let failed = statuses.filter((s) => s !== 204).length;
  for (const imageId of ids) {
    const image = (await (await fetch(`${base}/v2/images/${imageId}`, { headers })).json()) as { checksum?: string };
    if (image.checksum !== md5) failed += 1;
  }
  return { show, list, upload: { mibs: (UPLOADS * UPLOAD_MIB) / seconds, failed } };
}

async function benchNodes(count: number): Promise<Map<string, Row>> {
  const cluster = await startIrisCluster({ nodes: count });
  const rows = new Map<string, Row>();
  try {
    const database = openDatabase({ url: cluster.db.url });
    try {
      await seedImages(database, IMAGES);
    } finally {
      await database.close();
    }
    if (count === 1) rows.set('1 node, direct (no HAProxy)', await measure(cluster, cluster.nodes[0]!.iris.baseUrl));
    rows.set(`${count} node${count > 1 ? 's' : ''} behind HAProxy`, await measure(cluster, cluster.baseUrl));
  } finally {
    await cluster.stop();
  }
  return rows;
}

const before = loadavg().map((n) => n.toFixed(2)).join(' ');
const all = new Map<string, Row>();
for (const count of NODES) {
  process.stderr.write(`${count} node(s)…\n`);
  for (const [name, row] of await benchNodes(count)) all.set(name, row);
}
const after = loadavg().map((n) => n.toFixed(2)).join(' ');

const rate = (r: LoadResult): string => `${r.rps.toFixed(0)}${r.errors > 0 ? ` (${r.errors} errors)` : ''} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}`;
const lines = [
  `# N nodes behind HAProxy: ${new Date().toISOString()}`,
  '',
  `- machine: ${cpuModel()}, load average before ${before}, after ${after}`,
  `- PostgreSQL 15, shared filesystem store; show and list (${IMAGES} images, first page) with ${CONNS} concurrent fetch loops for ${SECONDS} s; ` +
    `upload: ${UPLOADS} concurrent uploads of ${UPLOAD_MIB} MiB, aggregate MiB/s; req/s and p50 / p99 ms`,
  '',
  '| setup | show req/s | p50 / p99 | list req/s | p50 / p99 | upload MiB/s |',
  '|---|---|---|---|---|---|',
  ...[...all].map(
    ([name, r]) => `| ${name} | ${rate(r.show)} | ${rate(r.list)} | ${r.upload.mibs.toFixed(0)}${r.upload.failed > 0 ? ` (${r.upload.failed} failed)` : ''} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
