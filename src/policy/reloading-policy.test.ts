import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReloadingPolicy } from './reloading-policy.js';
import { createRulePolicy, loadPolicyRules } from './rule-policy.js';
import type { PolicySetup } from './policy-from-config.js';

/** A setup from `file` as main.ts builds one (legacy defaults overridden by the file). */
function setupFrom(file: string): PolicySetup {
  const rules = loadPolicyRules({ enforceNewDefaults: false, policyFile: file });
  return { policy: createRulePolicy({ rules, secureRbac: false, enforceScope: false }), rules, file, propertyProtections: null, files: [file] };
}

test('a changed policy file applies after the recheck interval; a broken one keeps the old rules and is reported once', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iris-policy-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, '"tasks_api_access": "role:admin"\n');
  let now = 0;
  const reloads: string[][] = [];
  const errors: string[] = [];
  const reloading = createReloadingPolicy(setupFrom(file), () => setupFrom(file), {
    recheckMs: 1000,
    now: () => now,
    onReload: (s) => reloads.push([...s.files]),
    onError: (e) => errors.push((e as Error).message),
  });
  const allowed = () => reloading.rules.check('tasks_api_access', {}, { roles: ['member'], project_id: 'p1', user_id: 'u1' } as never);
  assert.equal(allowed(), false);

  writeFileSync(file, '"tasks_api_access": "role:member"\n');
  now = 999;
  assert.equal(allowed(), false, 'not looked at before the interval');
  now = 1000;
  assert.equal(allowed(), true, 'applied once the interval passed');
  assert.deepEqual(reloads, [[file]]);

  writeFileSync(file, '"tasks_api_access": "role:member and (\n');
  now = 2000;
  assert.equal(allowed(), true, 'a broken file leaves the rules read before');
  now = 3000;
  assert.equal(allowed(), true);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /tasks_api_access/);

  writeFileSync(file, '"tasks_api_access": "role:admin"\n');
  now = 4000;
  assert.equal(allowed(), false, 'the fixed file applies');
  assert.equal(reloads.length, 2);
});
