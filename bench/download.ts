/**
 * `node --import tsx bench/download.ts`: image download throughput, Iris against the peer Glance
 * (single filesystem store, as bench/run.ts configures it) and against a sendfile source, all in
 * one run, with the transfers interleaved so that every server sees the same machine load.
 *
 * Each server gets the same random file uploaded once (checksum verified); then each round
 * downloads it once from every server, in a rotating order, with `curl -o /dev/null`. Reported per
 * server: median MiB/s over the rounds, and the median CPU time the server's process tree spent
 * per GiB served (less noisy than throughput on a shared machine, where curl and other work
 * compete for the same cores).
 *
 * Environment (defaults in brackets):
 *   BENCH_FILE_MB   file size, MiB                                                    [1024]
 *   BENCH_REPS      rounds (median)                                                   [5]
 *   BENCH_PEER      0 skips the peer Glance                                           [1]
 *   BENCH_BEFORE    another checkout (e.g. `git worktree` of the previous commit) to run
 *                   as "iris-before" beside this one, for a before/after in one run   [unset]
 *   BENCH_OUT       results directory (server logs)              [bench/results/download-<UTC time>]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, freePort, startIris, startPeer, treeTicks, waitForHttp } from './servers.js';
import type { Server } from './servers.js';
import { loopbackServer } from './machine.js';

function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(value)}`);
  return n;
}

const FILE_MB = envNumber('BENCH_FILE_MB', 1024);
const REPS = envNumber('BENCH_REPS', 5);
const WITH_PEER = process.env.BENCH_PEER !== '0';
const BEFORE = process.env.BENCH_BEFORE;
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const OUT = process.env.BENCH_OUT ?? join(REPO_ROOT, 'bench', 'results', `download-${STAMP}`);
const MIB = 2 ** 20;
const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux.

function log(message: string): void {
  process.stderr.write(`[bench:download] ${message}\n`);
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function run(cmd: string, args: readonly string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}`);
  return out;
}

async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('md5');
  const sink = createWriteStream(path);
  const chunk = Buffer.allocUnsafe(MIB);
  for (let left = bytes; left > 0; left -= chunk.length) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    randomFillSync(piece);
    hash.update(piece);
    if (!sink.write(Buffer.from(piece))) await once(sink, 'drain');
  }
  sink.end();
  await once(sink, 'close');
  return hash.digest('hex');
}

/** A download source: where to GET and whose CPU time to count. */
interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly mibps: number[];
  readonly cpuPerGiB: number[];
}

async function uploadImage(server: Server, file: string, md5: string): Promise<string> {
  const res = await fetch(`${server.url}/v2/images`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench-download', disk_format: 'raw', container_format: 'bare' }),
  });
  if (res.status !== 201) throw new Error(`${server.name}: create answered ${res.status}`);
  const { id } = (await res.json()) as { id: string };
  const code = await run('curl', [
    '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream',
    '-H', 'Expect:', '-T', file, `${server.url}/v2/images/${id}/file`,
  ]);
  if (code.trim() !== '204') throw new Error(`${server.name}: upload answered ${code}`);
  const image = (await (await fetch(`${server.url}/v2/images/${id}`)).json()) as { checksum?: string };
  if (image.checksum !== md5) throw new Error(`${server.name}: checksum ${image.checksum}, expected ${md5}`);
  return `${server.url}/v2/images/${id}/file`;
}

/** The machine's limit: Python serving the file with sendfile(2), as peer-glance/bench.sh does. */
async function startSendfileSource(file: string): Promise<Server> {
  const port = await freePort();
  const script = [
    'import http.server, os, sys',
    'class H(http.server.BaseHTTPRequestHandler):',
    "    protocol_version = 'HTTP/1.1'",
    '    def do_GET(self):',
    '        self.send_response(200)',
    "        self.send_header('Content-Length', str(os.path.getsize(sys.argv[1])))",
    '        self.end_headers()',
    "        with open(sys.argv[1], 'rb') as f:",
    '            self.connection.sendfile(f)',
    '    def log_message(self, *a):',
    '        pass',
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[2])), H).serve_forever()",
  ].join('\n');
  const child = spawn('python3', ['-c', script, file, String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url);
  return {
    name: 'sendfile',
    url,
    pid: child.pid!,
    async stop() {
      child.kill();
      await once(child, 'exit').catch(() => undefined);
    },
  };
}

/**
 * The node ceiling (machine.ts `loopbackServer`, as bench/cpu-per-gib.ts measures it), in the
 * same rounds as the servers, so "≥ 90 % of the ceiling" (issue 22) is judged on the same load.
 */
async function startMemorySource(bytes: number): Promise<Server> {
  const srv = await loopbackServer('memory', bytes);
  return {
    name: 'node-memory',
    url: srv.url,
    pid: srv.pid,
    async stop() {
      srv.stop();
    },
  };
}

async function download(target: Target): Promise<void> {
  const before = treeTicks(target.pid);
  const out = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total} %{size_download}', target.url]);
  const ticks = treeTicks(target.pid) - before;
  const [code, seconds, bytes] = out.trim().split(' ');
  if (code !== '200' || Number(bytes) !== FILE_MB * MIB) throw new Error(`${target.name}: GET answered ${out}`);
  target.mibps.push(Number(bytes) / MIB / Number(seconds));
  target.cpuPerGiB.push(ticks / CLOCK_TICKS / (Number(bytes) / 2 ** 30));
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function report(targets: readonly Target[], header: readonly string[]): string {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const peer = byName.get('peer');
  const sendfile = byName.get('sendfile');
  const ceiling = byName.get('node-memory');
  const lines = [...header, ''];
  lines.push('| server | median MiB/s | runs MiB/s | server CPU s per GiB (median) | / peer | / sendfile | / node ceiling |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const t of targets) {
    const m = median(t.mibps);
    const vsPeer = peer && t !== peer ? (m / median(peer.mibps)).toFixed(2) : '–';
    const vsSendfile = sendfile && t !== sendfile ? (m / median(sendfile.mibps)).toFixed(2) : '–';
    const vsCeiling = ceiling && t !== ceiling ? (m / median(ceiling.mibps)).toFixed(2) : '–';
    lines.push(
      `| ${t.name} | ${m.toFixed(0)} | ${t.mibps.map((x) => x.toFixed(0)).join(' ')} | ${median(t.cpuPerGiB).toFixed(2)} | ${vsPeer} | ${vsSendfile} | ${vsCeiling} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'iris-bench-download-'));
  const servers: Server[] = [];
  try {
    const file = join(tmp, 'image.bin');
    log(`writing a ${FILE_MB} MiB random file`);
    const md5 = await writeRandomFile(file, FILE_MB * MIB);
    const targets: Target[] = [];
    const add = (server: Server, url: string) => targets.push({ name: server.name, url, pid: server.pid, mibps: [], cpuPerGiB: [] });

    const sendfile = await startSendfileSource(file);
    servers.push(sendfile);
    add(sendfile, `${sendfile.url}/image`);
    const memory = await startMemorySource(FILE_MB * MIB);
    servers.push(memory);
    add(memory, memory.url);
    const irises: [string, string | undefined][] = [['iris', undefined]];
    if (BEFORE) irises.push(['iris-before', BEFORE]);
    for (const [name, root] of irises) {
      const dataDir = mkdtempSync(join(tmp, `${name}-`));
      const iris = await startIris({ name, dataDir, workers: 1, logFile: join(OUT, `${name}.log`), root });
      servers.push(iris);
      add(iris, await uploadImage(iris, file, md5));
    }
    if (WITH_PEER) {
      log('starting the peer Glance (peer-glance/start.sh)');
      const peer = await startPeer({ stateDir: join(tmp, 'peer-glance'), logFile: join(OUT, 'peer-start.log') });
      servers.push(peer);
      add(peer, await uploadImage(peer, file, md5));
    }
    // Let the uploads' writeback settle, then one untimed pass so every copy is page-cached.
    await run('sync', []);
    await sleep(2000);
    for (const t of targets) await run('curl', ['-sS', '-o', '/dev/null', t.url]);

    const header = [
      `# Download: ${FILE_MB} MiB, curl -o /dev/null, ${REPS} rounds (${STAMP})`,
      '',
      `- machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`,
      `- load average before: ${loadavg()}`,
    ];
    for (let round = 0; round < REPS; round++) {
      // Rotate who goes first, so that no server always follows the same one.
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(round + i) % targets.length]!;
        await download(target);
        log(`round ${round + 1}: ${target.name} ${target.mibps.at(-1)!.toFixed(0)} MiB/s, ${target.cpuPerGiB.at(-1)!.toFixed(2)} CPU s/GiB`);
      }
    }
    header.push(`- load average after: ${loadavg()}`);
    const text = report(targets, header);
    writeFileSync(join(OUT, 'summary.md'), `${text}\n`);
    process.stdout.write(`\n${text}\n`);
  } finally {
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
