/**
 * `npm run bench:import`: interoperable import, Iris and the peer Glance side by side in the same
 * configuration (two filesystem stores local,local2; glance-direct, web-download, copy-image),
 * in one run on this machine. For each server and round: stage a file (PUT /stage), import it
 * with glance-direct (POST /import until the image is active and its lock is gone), copy it
 * to local2 with copy-image, and import the same bytes with web-download from a local HTTP
 * server. Prints MiB/s per step and Iris/peer ratios; raw numbers go to the results directory.
 *
 * Environment: BENCH_FILE_MB [1024], BENCH_REPS [3] (median), BENCH_PEER [1],
 * BENCH_OUT [bench/results/import-<UTC time>].
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, startIris, startPeer, type Server } from './servers.js';

const MIB = 1024 * 1024;
const FILE_MB = Number(process.env.BENCH_FILE_MB ?? 1024);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const WITH_PEER = process.env.BENCH_PEER !== '0';
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const OUT = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench', 'results', `import-${STAMP}`);
const ADMIN = { 'X-Project-Id': 'bench0000000000000000000000000001', 'X-Roles': 'admin,member,reader', 'X-User-Id': 'bench' };

const log = (m: string) => process.stderr.write(`[bench:import] ${m}\n`);

async function call(method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(url, {
    method,
    headers: { ...ADMIN, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function createImage(base: string, name: string): Promise<string> {
  return (await call('POST', `${base}/v2/images`, { name, disk_format: 'raw', container_format: 'bare' })).id;
}

/** Polls the image until `done(image)`; returns the seconds since `started`. */
async function until(base: string, id: string, started: number, done: (image: any) => boolean): Promise<number> {
  for (;;) {
    const image = await call('GET', `${base}/v2/images/${id}`);
    if (done(image)) return (performance.now() - started) / 1000;
    if (image.os_glance_failed_import) throw new Error(`import of ${id} failed: ${JSON.stringify(image)}`);
    await sleep(20);
  }
}

const settled = (image: any) => image.status === 'active' && image.os_glance_import_task === undefined;

async function round(server: Server, file: string, webUrl: string): Promise<Record<string, number>> {
  const base = server.url;
  const size = statSync(file).size;
  const id = await createImage(base, 'bench-import');
  let started = performance.now();
  const staged = await fetch(`${base}/v2/images/${id}/stage`, {
    method: 'PUT',
    headers: { ...ADMIN, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    body: Readable.toWeb(createReadStream(file, { highWaterMark: MIB })) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  if (staged.status !== 204) throw new Error(`stage: HTTP ${staged.status} ${await staged.text()}`);
  const stage = (performance.now() - started) / 1000;

  started = performance.now();
  await call('POST', `${base}/v2/images/${id}/import`, { method: { name: 'glance-direct' } });
  const direct = await until(base, id, started, settled);

  started = performance.now();
  await call('POST', `${base}/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['local2'] });
  const copy = await until(base, id, started, (image) => settled(image) && image.stores === 'local,local2');

  const wd = await createImage(base, 'bench-web-download');
  started = performance.now();
  await call('POST', `${base}/v2/images/${wd}/import`, { method: { name: 'web-download', uri: webUrl } });
  const web = await until(base, wd, started, settled);

  await call('DELETE', `${base}/v2/images/${id}`);
  await call('DELETE', `${base}/v2/images/${wd}`);
  return { stage, direct, copy, web };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'iris-bench-import-'));
  const servers: Server[] = [];
  const web = createServer((req, res) => {
    const size = statSync(file).size;
    res.writeHead(200, { 'Content-Length': String(size) });
    pipeline(createReadStream(file, { highWaterMark: MIB }), res).catch(() => undefined);
  });
  const file = join(scratch, 'image.raw');
  try {
    log(`writing ${FILE_MB} MiB of random data`);
    const block = randomBytes(8 * MIB);
    await pipeline(
      Readable.from((function* () {
        for (let i = 0; i < FILE_MB / 8; i++) yield block;
      })()),
      createWriteStream(file),
    );
    // Glance 25.1.0 refuses loopback for web-download (unless listed in allowed_hosts, which
    // start.sh does not set), so the image server listens on this host's first non-loopback
    // IPv4 address, and Iris is allowed private networks for the run.
    const host = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!host) throw new Error('no non-loopback IPv4 address to serve web-download from');
    web.listen(0, host);
    await new Promise((r) => web.once('listening', r));
    const webPort = (web.address() as AddressInfo).port;
    const webUrl = `http://${host}:${webPort}/image.raw`;

    const iris = await startIris({
      name: 'iris',
      dataDir: join(scratch, 'iris'),
      workers: 1,
      logFile: join(OUT, 'iris.log'),
      env: {
        IRIS__DEFAULT__ENABLED_BACKENDS: 'local:file,local2:file',
        IRIS__GLANCE_STORE__DEFAULT_BACKEND: 'local',
        IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(webPort),
        IRIS__IMPORT_FILTERING_OPTS__ALLOW_PRIVATE_NETWORKS: 'true',
      },
    });
    servers.push(iris);
    if (WITH_PEER) {
      servers.push(
        await startPeer({
          stateDir: join(scratch, 'peer'),
          logFile: join(OUT, 'peer.log'),
          settings: {
            PEER_GLANCE_BACKENDS: 'local,local2',
            PEER_GLANCE_IMPORT_METHODS: 'glance-direct,web-download,copy-image',
            PEER_GLANCE_WEB_DOWNLOAD_PORTS: String(webPort),
          },
        }),
      );
    }
    const results: Record<string, Record<string, number[]>> = {};
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate who goes first, so neither always gets the warmer page cache.
      const order = rep % 2 === 0 ? servers : [...servers].reverse();
      for (const server of order) {
        log(`round ${rep + 1}/${REPS}: ${server.name}`);
        const r = await round(server, file, webUrl);
        for (const [step, seconds] of Object.entries(r)) ((results[server.name] ??= {})[step] ??= []).push(seconds);
      }
    }
    writeFileSync(join(OUT, 'import.json'), `${JSON.stringify({ file_mb: FILE_MB, reps: REPS, seconds: results }, null, 2)}\n`);
    const steps: [step: string, label: string][] = [
      ['stage', 'PUT /stage'],
      ['direct', 'glance-direct import'],
      ['copy', 'copy-image to local2'],
      ['web', 'web-download import'],
    ];
    const lines = [`Import, ${FILE_MB} MiB, median of ${REPS} (MiB/s; seconds)`, ''];
    lines.push('| step | Iris | peer Glance | Iris / peer |', '|---|---|---|---|');
    for (const [step, label] of steps) {
      const cell = (name: string) => {
        const s = results[name]?.[step];
        return s ? median(s) : undefined;
      };
      const i = cell('iris');
      const p = cell('peer');
      const fmt = (s?: number) => (s === undefined ? '–' : `${(FILE_MB / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`);
      lines.push(`| ${label} | ${fmt(i)} | ${fmt(p)} | ${i && p ? `${(p / i).toFixed(2)}×` : '–'} |`);
    }
    const table = lines.join('\n');
    writeFileSync(join(OUT, 'import.md'), `${table}\n`);
    process.stdout.write(`${table}\n\nresults: ${OUT}\n`);
  } finally {
    web.close();
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:import failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
