/**
 * The RBAC matrix on a started Iris: every image action × persona × visibility, list
 * presence per filter and create variants, compared with what Glance 25.1.0 answered
 * (matrix.json, recorded by record-matrix.ts). Differences must be listed with a reason in
 * differences.json, and none may permit or reveal more than Glance. Then the matrix with
 * `enforce_new_defaults = true` against Glance recorded the same way, and with a policy
 * file that tightens two rules: exactly the cells those rules guard change, as in Glance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startIris } from '../helpers/iris-server.js';
import { flatten, mismatches, permitsMore, type Difference } from './compare.js';
import { PERSONAS, runMatrix, type Action, type MatrixResult, type PersonaName } from './scenario.js';

const matrix = JSON.parse(readFileSync(new URL('./matrix.json', import.meta.url), 'utf8')) as MatrixResult;
/** The same scenario recorded from Glance with enforce_new_defaults and enforce_secure_rbac on. */
const glanceNewDefaults = JSON.parse(readFileSync(new URL('./matrix-new-defaults.json', import.meta.url), 'utf8')) as MatrixResult;
/** The same scenario recorded from Glance with tightened-policy.yaml as its policy file. */
const glanceTightened = JSON.parse(readFileSync(new URL('./matrix-tightened.json', import.meta.url), 'utf8')) as MatrixResult;
const differences = (JSON.parse(readFileSync(new URL('./differences.json', import.meta.url), 'utf8')) as { differences: Difference[] })
  .differences;

/** Glance's matrix with the listed differences applied: what Iris must answer. */
function irisExpected(from: MatrixResult = matrix): MatrixResult {
  const expected = structuredClone(from);
  for (const d of differences) {
    const [table, key] = splitCell(d.cell);
    (expected[table] as Record<string, unknown>)[key] = d.iris;
  }
  return expected;
}

function splitCell(cell: string): ['images' | 'lists' | 'creates', string] {
  const colon = cell.indexOf(':');
  return [cell.slice(0, colon) as 'images' | 'lists' | 'creates', cell.slice(colon + 1)];
}

async function runOnIris(env: Record<string, string> = {}): Promise<MatrixResult> {
  const iris = await startIris({ env });
  try {
    return await runMatrix(iris.baseUrl);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- server log ---\n${iris.logs().slice(-4000)}`, { cause: e });
  } finally {
    await iris.stop();
  }
}

test('the listed differences are real, explained, and never permit or reveal more than Glance', () => {
  const glance = flatten(matrix);
  for (const d of differences) {
    assert.ok(glance.has(d.cell), `${d.cell} is not a cell of the matrix`);
    assert.deepEqual(glance.get(d.cell), d.glance, `${d.cell}: the recorded Glance value changed`);
    assert.ok(d.reason.length > 20, `${d.cell}: give a reason`);
    assert.equal(permitsMore(d.glance, d.iris), false, `${d.cell}: Iris must not permit or reveal more than Glance`);
  }
});

test('RBAC matrix: Iris with the shipped defaults answers as Glance 25.1.0', { timeout: 300_000 }, async () => {
  const result = await runOnIris();
  const wrong = mismatches(irisExpected(), result);
  assert.deepEqual(
    wrong.map((m) => `${m.cell}: expected ${JSON.stringify(m.expected)}, Iris ${JSON.stringify(m.actual)}`),
    [],
    'cells that differ from Glance without being listed in differences.json',
  );
});

test('RBAC matrix: Iris with enforce_new_defaults = true answers as Glance with the new defaults', { timeout: 300_000 }, async () => {
  const result = await runOnIris({ IRIS__OSLO_POLICY__ENFORCE_NEW_DEFAULTS: 'true' });
  const wrong = mismatches(glanceNewDefaults, result);
  assert.deepEqual(
    wrong.map((m) => `${m.cell}: expected ${JSON.stringify(m.expected)}, Iris ${JSON.stringify(m.actual)}`),
    [],
    'cells that differ from Glance with [oslo_policy] enforce_new_defaults = true',
  );
});

// The two rules tightened (tightened-policy.yaml), and the matrix actions each guards
// (glance/api/v2/policy.py: PATCH and tags go through modify_image).
const TIGHTENED_FILE = new URL('./tightened-policy.yaml', import.meta.url).pathname;
const TIGHTENED = { download_image: true, modify_image: true } as const;
const GUARDED: Record<keyof typeof TIGHTENED, readonly Action[]> = {
  download_image: ['download'],
  modify_image: ['patch-property', 'visibility-unchanged', 'tag-add', 'tag-delete', 'communitize', 'publicize'],
};

/** Whether the tightened rule allows the persona on an image of the owner's project (rules are independent of visibility here). */
function tightenedAllows(rule: keyof typeof TIGHTENED, who: PersonaName): boolean {
  const persona = PERSONAS[who];
  const admin = (persona.roles as readonly string[]).includes('admin');
  const ownProject = persona.project === 'owner';
  if (rule === 'download_image') return admin || ownProject;
  return admin || (ownProject && (persona.roles as readonly string[]).includes('member'));
}

test('RBAC matrix with a policy file tightening two rules: exactly the cells they guard change', { timeout: 300_000 }, async () => {
  const result = await runOnIris({ IRIS__OSLO_POLICY__POLICY_FILE: TIGHTENED_FILE });

  // Prediction: a guarded action that succeeded becomes 403 for a persona the tightened
  // rule refuses (the image stays visible: get_image is unchanged, so it is not hidden).
  const expected = irisExpected();
  const predicted: string[] = [];
  for (const [key, status] of Object.entries(expected.images)) {
    const [, action, who] = key.split('/') as [string, Action, PersonaName];
    for (const rule of Object.keys(TIGHTENED) as (keyof typeof TIGHTENED)[]) {
      if (GUARDED[rule].includes(action) && status < 400 && !tightenedAllows(rule, who)) {
        expected.images[key] = 403;
        predicted.push(`images:${key}`);
      }
    }
  }
  assert.ok(predicted.length > 50, `the tightening should matter (${predicted.length} cells)`);
  const wrong = mismatches(expected, result);
  assert.deepEqual(
    wrong.map((m) => `${m.cell}: expected ${JSON.stringify(m.expected)}, Iris ${JSON.stringify(m.actual)}`),
    [],
    'cells other than the predicted ones changed, or predicted ones did not',
  );
  const changed = mismatches(irisExpected(), result).map((m) => m.cell).sort();
  assert.deepEqual(changed, predicted.sort());
  // And Glance, given the same file, changed exactly the same cells the same way.
  assert.deepEqual(mismatches(irisExpected(glanceTightened), result), [], 'Iris and Glance differ under the tightened policy');
  assert.deepEqual(mismatches(matrix, glanceTightened).map((m) => m.cell).sort(), predicted.sort());
});

test('a bad policy file or property protection file stops Iris at start with a clear message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-rbac-'));
  try {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'get_image: "role:admin or"\n');
    const protections = join(dir, 'protections.conf');
    writeFileSync(protections, '[^x_]\ncreate = admin\nread = @\n');
    const cases: [Record<string, string>, RegExp][] = [
      [{ IRIS__OSLO_POLICY__POLICY_FILE: policy }, /policy file .*policy\.yaml, rule "get_image": the rule ends where a check was expected/],
      [{ IRIS__OSLO_POLICY__POLICY_FILE: join(dir, 'missing.yaml') }, /missing\.yaml \(\[oslo_policy\] policy_file\) was not found/],
      [{ IRIS__DEFAULT__PROPERTY_PROTECTION_FILE: protections }, /protections\.conf:1, section \[\^x_\]: "update" is missing/],
      [{ IRIS__DEFAULT__PROPERTY_PROTECTION_FILE: join(dir, 'nope.conf') }, /property protection file .*nope\.conf .* was not found/],
    ];
    for (const [extra, message] of cases) {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IRIS_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
      Object.assign(env, { IRIS_PORT: '0', IRIS_DATA_DIR: dir, ...extra });
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 30_000 });
      assert.equal(run.status, 2, run.stdout + run.stderr);
      assert.match(run.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
