/**
 * `node --import tsx bench/rbd.ts`: upload and download of one image through Iris to its rbd
 * store, against the `rbd import` / `rbd export` CLI on the same throwaway Ceph (the store's own
 * limit on this machine). One memstore OSD (RAM: about twice the image), started by the
 * tests' helper. Prints one table and the machine (CPU model, load average).
 *
 * BENCH_RBD_MIB (default 512) sets the image size; BENCH_RBD_ROUNDS (default 2) the rounds,
 * of which the best is kept. Iris runs once with the default libuv pool (4 threads, so 2 librbd
 * calls at once) and once with UV_THREADPOOL_SIZE=16. Then the real Glance (the peer rig, with
 * an rbd store on the same cluster and user; BENCH_PEER=0 skips it).
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startCeph, type CephServer } from '../test/helpers/ceph-server.js';
import { startIris, startPeer } from './servers.js';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_RBD_MIB ?? 512);
const rounds = Number(process.env.BENCH_RBD_ROUNDS ?? 2);

/** Runs `rbd` as client.admin with stdin from `input` (a file) or closed, stdout discarded. */
function rbdCli(ceph: CephServer, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('rbd', ['-c', ceph.conf, '--id', 'admin', '--keyring', ceph.adminKeyring, ...args], {
      stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (input && child.stdin) createReadStream(input).pipe(child.stdin);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rbd ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function best(fn: (round: number) => Promise<number>): Promise<number> {
  let seconds = Infinity;
  for (let i = 0; i < rounds; i++) seconds = Math.min(seconds, await fn(i));
  return seconds;
}

/** Best upload and download seconds of one image through an Images API at `url`. */
async function measure(url: string, file: string, bytes: number): Promise<[number, number]> {
  const ids: string[] = [];
  const up = await best(async () => {
    const created = await fetch(`${url}/v2/images`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'bench-rbd', disk_format: 'raw', container_format: 'bare' }),
    });
    const { id } = (await created.json()) as { id: string };
    ids.push(id);
    return timed(async () => {
      const res = await fetch(`${url}/v2/images/${id}/file`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) },
        body: Readable.toWeb(createReadStream(file)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      if (res.status !== 204) throw new Error(`upload: HTTP ${res.status}: ${await res.text()}`);
    });
  });
  const down = await best(() =>
    timed(async () => {
      const res = await fetch(`${url}/v2/images/${ids[0]}/file`);
      let got = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) got += chunk.length;
      if (got !== bytes) throw new Error(`download: ${got} of ${bytes} bytes`);
    }),
  );
  for (const id of ids) await fetch(`${url}/v2/images/${id}`, { method: 'DELETE' });
  return [up, down];
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'iris-bench-rbd-'));
  const file = join(work, 'image.raw');
  const data = Buffer.allocUnsafe(sizeMiB * MiB);
  randomFillSync(data);
  writeFileSync(file, data);
  const bytes = statSync(file).size;
  const load0 = loadavg();
  const ceph = await startCeph({ memstoreBytes: Math.max(4 * 1024, sizeMiB * 3) * MiB });
  const rows: Array<[string, number, number]> = [];
  try {
    // The store's own limit: the CLI streaming from stdin / to stdout.
    const cliUp = await best((i) => timed(() => rbdCli(ceph, ['import', '--image-feature', 'layering', '-', `${ceph.pool}/cli-${i}`], file)));
    const cliDown = await best(() => timed(() => rbdCli(ceph, ['export', `${ceph.pool}/cli-0`, '-'])));
    rows.push(['rbd import - / rbd export - (CLI)', cliUp, cliDown]);
    for (let i = 0; i < rounds; i++) await rbdCli(ceph, ['rm', `${ceph.pool}/cli-${i}`]);

    for (const pool of ['4', '16']) {
      const dataDir = join(work, `iris-${pool}`);
      const iris = await startIris({
        name: `iris-uv${pool}`,
        dataDir,
        workers: 1,
        logFile: join(work, `iris-${pool}.log`),
        env: {
          UV_THREADPOOL_SIZE: pool,
          IRIS__GLANCE_STORE__STORES: 'rbd',
          IRIS__GLANCE_STORE__DEFAULT_STORE: 'rbd',
          IRIS__GLANCE_STORE__RBD_STORE_CEPH_CONF: ceph.conf,
          IRIS__GLANCE_STORE__RBD_STORE_USER: ceph.user,
        },
      });
      try {
        rows.push([`Iris, rbd store (UV_THREADPOOL_SIZE=${pool})`, ...(await measure(iris.url, file, bytes))]);
      } finally {
        await iris.stop();
      }
    }

    if (process.env.BENCH_PEER !== '0') {
      // The real Glance on the same cluster, same user and pool, Glance's default 8 MiB chunks.
      const extra = join(work, 'peer-extra.conf');
      writeFileSync(
        extra,
        `[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_ceph_conf = ${ceph.conf}\nrbd_store_user = ${ceph.user}\nrbd_store_pool = ${ceph.pool}\n`,
      );
      const peer = await startPeer({ stateDir: join(work, 'peer'), logFile: join(work, 'peer.log'), settings: { PEER_GLANCE_EXTRA_CONF: extra } });
      try {
        rows.push(['Glance 25.1.0, rbd store (peer, same cluster)', ...(await measure(peer.url, file, bytes))]);
      } finally {
        await peer.stop();
      }
    }
  } finally {
    await ceph.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const load1 = loadavg();
  const mibs = (s: number): string => (sizeMiB / s).toFixed(0);
  console.log(`# rbd bench: ${sizeMiB} MiB of random data, best of ${rounds}; one memstore OSD, no mgr`);
  console.log(`# CPU: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; load average ${load0.map((l) => l.toFixed(1)).join(' ')} → ${load1.map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| path | upload MiB/s | download MiB/s |');
  console.log('|---|---|---|');
  for (const [name, up, down] of rows) console.log(`| ${name} | ${mibs(up)} (${up.toFixed(1)} s) | ${mibs(down)} (${down.toFixed(1)} s) |`);
}

await main();
