/**
 * `npm run conformance`: proves Iris against the real Glance. Starts the peer Glance
 * (../shared/peer-glance/start.sh in transcript.md's configuration: stores `local` and `local2`,
 * the three import methods, no cache) and Iris configured alike on free ports, plus a local
 * HTTP server for web-download imports, replays transcript.py and the project's own cases
 * (test/conformance/scenario.ts) against both, compares every answer, and checks each
 * difference against the intended ones listed in docs/conformance.md.
 *
 * Exit 0: no unexpected difference; 1: some (the report names case, field, both values);
 * 2: the harness itself could not run (peer missing, a server did not start, …).
 * `--keep` keeps the records of both servers (transcript.py's Markdown, the own cases as JSON)
 * in a directory it prints.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT, startIris, type IrisProcess } from '../test/helpers/iris-server.js';
import { compareExchanges, IdPairing, type Difference } from '../test/conformance/compare.js';
import type { Exchange } from '../test/conformance/exchange.js';
import { classify, parseKnownDifferences } from '../test/conformance/known-differences.js';
import { IMPORT_METHODS, peerUnavailable, startPeer, STORES, type Peer } from '../test/conformance/peer-glance.js';
import { formatReport } from '../test/conformance/report.js';
import { SCENARIO } from '../test/conformance/scenario.js';
import { runScenario } from '../test/conformance/scenario-runner.js';
import { recordTranscript } from '../test/conformance/transcript-record.js';
import { startWebDownloadSource, type WebDownloadSource } from '../test/conformance/web-download-source.js';

const DOC = join(REPO_ROOT, 'docs/conformance.md');

function log(message: string): void {
  process.stderr.write(`[conformance] ${message}\n`);
}

/** Pairs two servers' records in order; a missing or extra call is itself a difference. */
function compareAll(peer: readonly Exchange[], iris: readonly Exchange[]): Difference[] {
  const ids = new IdPairing();
  const diffs: Difference[] = [];
  for (let i = 0; i < Math.max(peer.length, iris.length); i++) {
    const p = peer[i];
    const q = iris[i];
    if (p === undefined || q === undefined) {
      const only = (p ?? q) as Exchange;
      diffs.push({ case: only.case, request: only.request, field: 'call', peer: p ? 'made' : '(missing)', iris: q ? 'made' : '(missing)' });
      continue;
    }
    diffs.push(...compareExchanges(p, q, ids));
  }
  return diffs;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const keep = process.argv.includes('--keep');
  const missing = peerUnavailable();
  if (missing !== undefined) {
    log(`cannot run: ${missing}`);
    return 2;
  }
  const known = parseKnownDifferences(readFileSync(DOC, 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'iris-conformance-'));

  let peer: Peer | undefined;
  let iris: IrisProcess | undefined;
  let source: WebDownloadSource | undefined;
  let stopping = false;
  // start.sh detaches the peer (setsid), so an interrupted run must stop it itself.
  const interrupted = (signal: NodeJS.Signals): void => {
    stopping = true;
    log(`${signal}: stopping the servers`);
    void Promise.allSettled([peer?.stop(), iris?.stop(), source?.close()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // web-download imports (transcript.py's successful one, own cases) fetch from here; both
    // servers allow its port besides Glance's default 80 and 443.
    source = await startWebDownloadSource();
    if (source.host === '127.0.0.1') log('no non-loopback IPv4 address: the peer will refuse the web-download source');
    const allowedPorts = [80, 443, source.port];
    const irisEnv = {
      // The peer's stores and import methods (start.sh: enabled_backends = local:file,local2:file,
      // default_backend = local, store_description "<id> filesystem store").
      IRIS__DEFAULT__ENABLED_BACKENDS: STORES.map((s) => `${s}:file`).join(','),
      IRIS__GLANCE_STORE__DEFAULT_BACKEND: STORES[0],
      ...Object.fromEntries(STORES.map((s) => [`IRIS__${s.toUpperCase()}__STORE_DESCRIPTION`, `${s} filesystem store`])),
      IRIS__DEFAULT__ENABLED_IMPORT_METHODS: IMPORT_METHODS.join(','),
      IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: allowedPorts.join(','),
      // Glance lets web-download reach private addresses (the source's); Iris only with this.
      // Loopback stays refused in both (the peer's deb12u5 security fix refuses it too).
      IRIS__IMPORT_FILTERING_OPTS__ALLOW_PRIVATE_NETWORKS: 'true',
      // Glance 25.1.0 does not check image data against its declared disk_format; Iris does by
      // default. Compare like with like: the scenario uploads random bytes declared qcow2.
      // (Unsafe content is refused either way; no case here sends any.)
      IRIS__IMAGE_FORMAT__REQUIRE_IMAGE_FORMAT_MATCH: 'false',
    };
    const [p, i] = await Promise.allSettled([
      freePort().then((port) => startPeer(port, { webDownloadPorts: allowedPorts })),
      startIris({ env: irisEnv }),
    ]);
    if (p.status === 'fulfilled') peer = p.value;
    if (i.status === 'fulfilled') iris = i.value;
    if (p.status === 'rejected') throw p.reason;
    if (i.status === 'rejected') throw i.reason;
    if (peer === undefined || iris === undefined) throw new Error('unreachable');
    log(`peer ${peer.baseUrl} (state ${peer.stateDir}), iris ${iris.baseUrl}; started in ${Date.now() - t0} ms`);

    // The two servers run side by side; each server's calls stay in their order.
    const t1 = Date.now();
    const [peerT, irisT] = await Promise.all([
      recordTranscript(peer.baseUrl, join(work, 'peer.md'), source.url),
      recordTranscript(iris.baseUrl, join(work, 'iris.md'), source.url),
    ]);
    log(`transcript.py: ${peerT.length} calls each, ${Date.now() - t1} ms`);

    const t2 = Date.now();
    const vars = {
      run: randomBytes(4).toString('hex'),
      zero: '00000000-0000-0000-0000-000000000000',
      newid: randomUUID(),
      wdurl: source.url,
      wdmissing: source.url.replace(/wd\.img$/, 'missing.img'),
      wdloopback: `http://127.0.0.1:${source.port}/wd.img`,
    };
    const [peerS, irisS] = await Promise.all([runScenario(peer.baseUrl, SCENARIO, vars), runScenario(iris.baseUrl, SCENARIO, vars)]);
    log(`own cases: ${peerS.length} calls each, ${Date.now() - t2} ms`);
    if (keep) {
      const dump = (calls: readonly Exchange[]): string =>
        JSON.stringify(calls.map((c) => ({ ...c, headers: Object.fromEntries(c.headers) })), null, 1);
      writeFileSync(join(work, 'peer-own.json'), dump(peerS));
      writeFileSync(join(work, 'iris-own.json'), dump(irisS));
    }

    const result = classify([...compareAll(peerT, irisT), ...compareAll(peerS, irisS)], known);
    const compared = Math.max(peerT.length, irisT.length) + Math.max(peerS.length, irisS.length);
    process.stdout.write(`${formatReport(compared, result)}\n`);
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s${keep ? `; records kept in ${work}` : ''}`);
    return result.unexpected.length === 0 ? 0 : 1;
  } catch (err) {
    if (stopping) return 130;
    log(`harness failed: ${(err as Error).stack ?? String(err)}`);
    if (iris !== undefined) log(`Iris output (last 4000 chars):\n${iris.logs().slice(-4000)}`);
    return 2;
  } finally {
    await Promise.allSettled([peer?.stop(), iris?.stop(), source?.close()]);
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`harness failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
