/**
 * Records the RBAC matrix from a real Glance into test/rbac/matrix.json, the table
 * rbac-matrix.test.ts holds Iris to.
 *
 *   PEER_GLANCE_DIR=/tmp/peer-rbac PEER_GLANCE_PORT=9301 PEER_GLANCE_BACKENDS= \
 *     PEER_GLANCE_IMPORT_METHODS= PEER_GLANCE_CACHE=0 bash /work/shared/peer-glance/start.sh
 *   node --import tsx test/rbac/record-matrix.ts http://127.0.0.1:9301
 *   node --import tsx test/rbac/record-matrix.ts http://127.0.0.1:9301 --tighten /tmp/peer-rbac/etc/policy.yaml
 *
 * With --tighten PEER_POLICY_FILE it writes tightened-policy.yaml over the peer's policy
 * file (oslo.policy reloads a changed file on the next check), records matrix-tightened.json
 * and puts the peer's file back. Restart the peer afterwards (stop.sh, start.sh): Glance's
 * enforcer merges a reloaded file into the rules it has (overwrite=False), so the tightened
 * rules stay in force after the file is restored, and a later base recording would be wrong.
 * Record the base matrix first, on a freshly started peer.
 *
 * With --new-defaults it records matrix-new-defaults.json from a Glance started with
 * `[oslo_policy] enforce_new_defaults = true` and `[DEFAULT] enforce_secure_rbac = true`:
 *   test/rbac/start-glance-variant.sh /tmp/peer-rbac 9304 new-defaults
 *   node --import tsx test/rbac/record-matrix.ts http://127.0.0.1:9304 --new-defaults
 *
 * The peer must run the `hybrid` auth shim (identity from X-Project-Id / X-Roles /
 * X-User-Id; none = the project-less admin) with Glance's shipped policy defaults. The
 * differences Iris is allowed, with reasons, live in differences.json, not here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACTION_CALLS, CREATE_VARIANTS, IMAGE_KINDS, LIST_FILTERS, PERSONAS, runMatrix } from './scenario.js';

const baseUrl = process.argv[2] ?? 'http://127.0.0.1:9301';
const tightenAt = process.argv[3] === '--tighten' ? process.argv[4] : undefined;
const newDefaults = process.argv[3] === '--new-defaults';
const tightened = readFileSync(new URL('./tightened-policy.yaml', import.meta.url), 'utf8');
const out = new URL(
  tightenAt !== undefined ? './matrix-tightened.json' : newDefaults ? './matrix-new-defaults.json' : './matrix.json',
  import.meta.url,
);

function glanceVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'glance-api'], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
}

const versions = (await (await fetch(`${baseUrl}/versions`)).json()) as { versions: { id: string; status: string }[] };
const started = Date.now();
const original = tightenAt === undefined ? '' : readFileSync(tightenAt, 'utf8');
if (tightenAt !== undefined) {
  writeFileSync(tightenAt, tightened);
  await sleep(1500); // oslo.policy notices the change by mtime on the next check
}
let result;
try {
  result = await runMatrix(baseUrl, { log: (line) => process.stderr.write(`${line}\n`) });
} finally {
  if (tightenAt !== undefined) writeFileSync(tightenAt, original);
}
const matrix = {
  how: {
    recorded: new Date().toISOString().slice(0, 10),
    against:
      `Debian glance-api ${glanceVersion()} (OpenStack Zed), API ${versions.versions.find((v) => v.status === 'CURRENT')?.id ?? '?'}, ` +
      'started by /work/shared/peer-glance/start.sh with PEER_GLANCE_BACKENDS= PEER_GLANCE_IMPORT_METHODS= PEER_GLANCE_CACHE=0 ' +
      '(one filesystem store, no import, no cache), auth shim "hybrid", shipped policy defaults ' +
      (newDefaults
        ? 'but [oslo_policy] enforce_new_defaults = true and [DEFAULT] enforce_secure_rbac = true (test/rbac/start-glance-variant.sh new-defaults), '
        : '([oslo_policy] enforce_new_defaults = false), ') +
      'no property protections, ' +
      (tightenAt === undefined ? 'empty policy file' : 'policy file = test/rbac/tightened-policy.yaml'),
    command: `node --import tsx test/rbac/record-matrix.ts ${process.argv.slice(2).join(' ')}`,
    scenario: 'test/rbac/scenario.ts (one fresh image per kind x persona cell; the actions of a cell in the order listed)',
    seconds: Math.round((Date.now() - started) / 1000),
  },
  personas: PERSONAS,
  imageKinds: IMAGE_KINDS,
  actions: ACTION_CALLS,
  listFilters: LIST_FILTERS,
  createVariants: CREATE_VARIANTS,
  ...result,
};
writeFileSync(out, `${JSON.stringify(matrix, null, 1)}\n`);
process.stderr.write(
  `wrote ${out.pathname}: ${Object.keys(result.images).length} image cells, ${Object.keys(result.lists).length} list cells, ` +
    `${Object.keys(result.creates).length} create cells in ${matrix.how.seconds} s\n`,
);
