/**
 * What authentication costs per request: show and list throughput of one Iris process in
 * flavor hybrid (no credential check), apikey and keystone (tokens cached after the first
 * use), measured in the same run, rounds interleaved so that drift hits every mode alike.
 *
 *   node --import tsx bench/auth-cost.ts [--seconds 3] [--rounds 3] [--connections 16]
 *
 * Loopback only, bounded in time; Keystone comes from test/keystone/keystone.sh (skipped,
 * with a note, when python3-keystone or uWSGI is missing). Prints Markdown tables: the
 * authenticate() step alone, in-process, then req/s end to end.
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKeyAuthenticator } from '../src/auth/api-key-authenticator.js';
import { createApiKey } from '../src/auth/api-key-store.js';
import type { Authenticator } from '../src/auth/authenticator.js';
import { createHeaderAuthenticator } from '../src/auth/header-authenticator.js';
import { createKeystoneAuthenticator } from '../src/auth/keystone-authenticator.js';
import type { KeystoneClient } from '../src/auth/keystone-client.js';
import { startIris, type IrisProcess } from '../test/helpers/iris-server.js';
import { keystoneIrisEnv, requireKeystone, startKeystone, type KeystoneProcess } from '../test/helpers/keystone.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const IMAGES = 20;

interface Mode {
  readonly name: string;
  readonly iris: IrisProcess;
  readonly headers: Record<string, string>;
  imageId?: string;
}

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** Closed-loop load: CONNECTIONS requests in flight for `seconds`; latencies in ms. */
async function load(base: string, path: string, headers: Record<string, string>, seconds: number): Promise<Sample> {
  const pool = new Pool(base, { connections: CONNECTIONS, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = await pool.request({ path, method: 'GET', headers });
        await r.body.dump();
        if (r.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

async function seed(mode: Mode): Promise<void> {
  for (let i = 0; i < IMAGES; i++) {
    const r = await fetch(`${mode.iris.baseUrl}/v2/images`, {
      method: 'POST',
      headers: { ...mode.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-${i}`, disk_format: 'raw', container_format: 'bare' }),
    });
    const body = (await r.json()) as { id: string };
    if (r.status !== 201) throw new Error(`${mode.name}: create answered ${r.status}`);
    mode.imageId ??= body.id;
  }
}

/**
 * The authentication step alone, in this process: microseconds per call of each flavor's
 * authenticate() on its hot path (hybrid headers; an API key; a Keystone token already in the
 * cache, the client a stub that is asked once). Less sensitive to machine load than req/s.
 */
async function inProcess(): Promise<void> {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} } as never;
  const dir = mkdtempSync(join(tmpdir(), 'iris-auth-bench-'));
  try {
    const file = join(dir, 'api-keys.json');
    const { secret } = createApiKey(file, { project: 'p1', user: 'bench', roles: ['member', 'reader'] });
    const stub: KeystoneClient = {
      baseUrl: 'http://stub/v3',
      issueToken: async () => ({ token: 'svc', expiresAt: new Date(Date.now() + 3600_000).toISOString() }),
      validateToken: async () => ({
        token: {
          user: { id: 'u1', name: 'alice', domain: { id: 'default' } },
          project: { id: 'p1', name: 'demo', domain: { id: 'default' } },
          roles: [{ name: 'member' }, { name: 'reader' }],
          catalog: [],
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
        },
      }),
      close: async () => {},
    };
    const fernetLike = `gAAAAAB${'x'.repeat(176)}`;
    const cases: [string, Authenticator, Record<string, string>][] = [
      ['hybrid', createHeaderAuthenticator('hybrid'), { 'x-project-id': 'p1', 'x-roles': 'member,reader' }],
      ['apikey', createApiKeyAuthenticator({ file, logger: quiet }), { 'x-auth-token': secret }],
      [
        'keystone (cached token)',
        createKeystoneAuthenticator({
          client: stub,
          credentials: { username: 'glance', password: 'pw', userDomainName: 'Default', projectName: 'service', projectDomainName: 'Default' },
          wwwAuthenticateUri: 'http://stub/v3',
          serviceTokenRoles: ['service'],
          serviceTokenRolesRequired: false,
          cacheTimeMs: 300_000,
          cacheSize: 10_000,
          timeoutMs: 5000,
          logger: quiet,
        }),
        { 'x-auth-token': fernetLike },
      ],
    ];
    console.log('\n| authenticate() alone | µs per call |\n| --- | ---: |');
    for (const [name, auth, headers] of cases) {
      const N = 200_000;
      for (let i = 0; i < 10_000; i++) await auth.authenticate({ headers, requestId: 'r' }); // warm-up, fills the cache
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await auth.authenticate({ headers, requestId: 'r' });
      console.log(`| ${name} | ${(((performance.now() - t0) * 1000) / N).toFixed(2)} |`);
      await auth.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const servers: IrisProcess[] = [];
  let keystone: KeystoneProcess | undefined;
  try {
    const modes: Mode[] = [];
    const hybrid = await startIris();
    servers.push(hybrid);
    modes.push({ name: 'hybrid', iris: hybrid, headers: { 'x-project-id': 'p1', 'x-roles': 'member,reader' } });

    const apikey = await startIris({ env: { IRIS__PASTE_DEPLOY__FLAVOR: 'apikey' } });
    servers.push(apikey);
    const { secret } = createApiKey(`${apikey.dataDir}/api-keys.json`, { project: 'p1', user: 'bench', roles: ['member', 'reader'] });
    // The server re-reads the key file at most once a second.
    await new Promise((r) => setTimeout(r, 1100));
    modes.push({ name: 'apikey', iris: apikey, headers: { 'x-auth-token': secret } });

    if (requireKeystone()) {
      keystone = await startKeystone();
      const cloud = await keystone.populate();
      const ks = await startIris({ env: keystoneIrisEnv(keystone, cloud) });
      servers.push(ks);
      const { token } = await keystone.issueToken(cloud.users.alice, cloud.projects.demo);
      modes.push({ name: 'keystone (cached token)', iris: ks, headers: { 'x-auth-token': token } });
    } else {
      console.error('Keystone not installed: the keystone column is left out');
    }

    for (const mode of modes) await seed(mode);
    const requests = [
      { label: 'show GET /v2/images/{id}', path: (m: Mode) => `/v2/images/${m.imageId}` },
      { label: 'list GET /v2/images?limit=20', path: () => '/v2/images?limit=20' },
    ];
    const results = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const request of requests) {
        for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
          await load(mode.iris.baseUrl, request.path(mode), mode.headers, 0.5); // warm-up
          const sample = await load(mode.iris.baseUrl, request.path(mode), mode.headers, SECONDS);
          const key = `${request.label}\0${mode.name}`;
          results.set(key, [...(results.get(key) ?? []), sample]);
          process.stderr.write(`round ${round + 1} ${request.label} ${mode.name}: ${sample.rps.toFixed(0)} req/s\n`);
        }
      }
    }

    console.log(`\n${CONNECTIONS} connections, ${SECONDS} s per cell, median of ${ROUNDS} interleaved rounds; one Iris process each.\n`);
    console.log('| request | mode | req/s | p50 ms | p99 ms | errors | vs hybrid | extra per request |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const request of requests) {
      const baseRps = median(results.get(`${request.label}\0hybrid`)!.map((s) => s.rps));
      for (const mode of modes) {
        const samples = results.get(`${request.label}\0${mode.name}`)!;
        const rps = median(samples.map((s) => s.rps));
        const extraUs = (1 / rps - 1 / baseRps) * 1e6;
        console.log(
          `| ${request.label} | ${mode.name} | ${rps.toFixed(0)} | ${median(samples.map((s) => s.p50)).toFixed(2)} | ` +
            `${median(samples.map((s) => s.p99)).toFixed(2)} | ${samples.reduce((n, s) => n + s.errors, 0)} | ` +
            `${(((rps - baseRps) / baseRps) * 100).toFixed(1)}% | ${mode.name === 'hybrid' ? '—' : `${extraUs.toFixed(0)} µs`} |`,
        );
      }
    }
  } finally {
    for (const server of servers) await server.stop();
    await keystone?.stop();
  }
}

await inProcess();
await main();
