/**
 * Soak: malformed, stalled, idle and valid clients mixed against one Iris for a while, sampling
 * the server's open sockets and RSS. A healthy server levels off (sockets bounded by the
 * timeouts, RSS flat); a leak shows as a line that keeps climbing.
 *
 *   npm run bench:soak -- [--seconds 600] [--body-idle 5] [--socket-timeout 30] [--root DIR]
 *
 * `--root` starts another checkout instead of this one (e.g. a commit before a fix).
 *
 * Prints a sample every 10 s and a verdict comparing the first and the last fifth of the run.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startIris } from './servers.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const seconds = arg('seconds', 600);
const bodyIdle = arg('body-idle', 5);
const socketTimeout = arg('socket-timeout', 30);
const rootAt = process.argv.indexOf('--root');
const root = rootAt > 0 ? process.argv[rootAt + 1] : undefined;

const dir = mkdtempSync(join(tmpdir(), 'iris-soak-'));
const iris = await startIris({
  name: 'iris',
  dataDir: dir,
  workers: 1,
  logFile: join(dir, 'iris.log'),
  ...(root === undefined ? {} : { root }),
  env: {
    IRIS__IRIS__BODY_IDLE_TIMEOUT: String(bodyIdle),
    IRIS__DEFAULT__CLIENT_SOCKET_TIMEOUT: String(socketTimeout),
  },
});
const { port } = new URL(iris.url);
// The server process is node itself (no wrapper): its fds and memory are the server's.
const pid = iris.pid;

function sockets(): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const counts = { malformed: 0, stalled: 0, idle: 0, valid: 0, errors: 0 };
const end = Date.now() + seconds * 1000;

/** Opens a connection, writes `data`, then either hangs up at once or waits for the server to close. */
function rawClient(data: string | Buffer, hangUp: boolean): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(Number(port), '127.0.0.1', () => {
      if (data.length > 0) s.write(data);
      if (hangUp) s.destroy();
    });
    s.on('error', () => undefined);
    // Read (and drop) the answer: a client that never reads never sees the server's FIN.
    s.resume();
    s.on('close', () => resolve());
  });
}

async function drop(r: Promise<Response>): Promise<void> {
  await (await r).arrayBuffer();
}

async function newImage(): Promise<string> {
  const r = await fetch(`${iris.url}/v2/images`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'soak', disk_format: 'raw', container_format: 'bare' }),
  });
  return ((await r.json()) as { id: string }).id;
}

const payload = Buffer.alloc(1 << 20, 7);

async function loop(kind: keyof typeof counts, body: () => Promise<void>): Promise<void> {
  while (Date.now() < end) {
    try {
      await body();
      counts[kind]++;
    } catch {
      counts.errors++;
    }
  }
}

const malformed = async () => {
  await rawClient('POST /v2/images HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', true);
  const id = await newImage();
  await rawClient(`PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\n`, true);
  await drop(fetch(`${iris.url}/v2/images/${id}`, { method: 'DELETE' }));
};
const stalled = async () => {
  const id = await newImage();
  // Waits for the server to give up (408 and close after body_idle_timeout).
  await rawClient(
    Buffer.concat([
      Buffer.from(`PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n`),
      Buffer.alloc(65536, 1),
    ]),
    false,
  );
  await drop(fetch(`${iris.url}/v2/images/${id}`, { method: 'DELETE' }));
};
const idle = () => rawClient('', false);
const valid = async () => {
  const id = await newImage();
  const put = await fetch(`${iris.url}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: payload,
  });
  if (put.status !== 204) throw new Error(`upload ${put.status}`);
  const got = await fetch(`${iris.url}/v2/images/${id}/file`);
  if ((await got.arrayBuffer()).byteLength !== payload.length) throw new Error('short download');
  await drop(fetch(`${iris.url}/v2/images/${id}`, { method: 'DELETE' }));
};

const samples: { t: number; sockets: number; rss: number }[] = [];
const started = Date.now();
const sampler = (async () => {
  while (Date.now() < end) {
    const s = { t: Math.round((Date.now() - started) / 1000), sockets: sockets(), rss: rssMiB() };
    samples.push(s);
    console.log(`t=${s.t}s sockets=${s.sockets} rss=${s.rss}MiB ${JSON.stringify(counts)}`);
    await sleep(10_000);
  }
})();

await Promise.all([
  loop('malformed', malformed),
  loop('malformed', malformed),
  ...Array.from({ length: 8 }, () => loop('stalled', stalled)),
  ...Array.from({ length: 4 }, () => loop('idle', idle)),
  loop('valid', valid),
  loop('valid', valid),
  sampler,
]);
// Let the last stalled and idle clients time out, then look once more.
await sleep((Math.max(bodyIdle, socketTimeout) + 2) * 1000);
const final = { sockets: sockets(), rss: rssMiB() };
const stuck = await (await fetch(`${iris.url}/v2/images?status=saving`)).json() as { images: unknown[] };
await iris.stop();
rmSync(dir, { recursive: true, force: true });

const fifth = Math.max(1, Math.floor(samples.length / 5));
const first = samples.slice(1, 1 + fifth);
const last = samples.slice(-fifth);
const max = (xs: number[]) => Math.max(...xs);
console.log(`\n${seconds} s, body_idle_timeout ${bodyIdle} s, client_socket_timeout ${socketTimeout} s; clients done: ${JSON.stringify(counts)}`);
console.log(`sockets: max ${max(first.map((s) => s.sockets))} in the first fifth, max ${max(last.map((s) => s.sockets))} in the last fifth, ${final.sockets} after the clients stopped`);
console.log(`RSS MiB: max ${max(first.map((s) => s.rss))} in the first fifth, max ${max(last.map((s) => s.rss))} in the last fifth, ${final.rss} at the end`);
console.log(`images left in saving: ${stuck.images.length}`);
