/**
 * Records what Glance does with property protections into property-protections.json, for
 * property-protections.test.ts. Needs two extra glance-api processes on a running peer:
 *
 *   test/rbac/start-glance-variant.sh /tmp/peer-rbac 9302 roles
 *   test/rbac/start-glance-variant.sh /tmp/peer-rbac 9303 policies
 *   node --import tsx test/rbac/record-property-protections.ts http://127.0.0.1:9302 http://127.0.0.1:9303
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PROPERTY_PERSONAS, PROPERTY_STEPS, PROTECTED_PROPERTIES, runPropertyScenario } from './property-scenario.js';

const [rolesUrl = 'http://127.0.0.1:9302', policiesUrl = 'http://127.0.0.1:9303'] = process.argv.slice(2);
let version = 'unknown';
try {
  version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'glance-api'], { encoding: 'utf8' });
} catch {
  // not a Debian machine
}
const roles = await runPropertyScenario(rolesUrl);
const policies = await runPropertyScenario(policiesUrl);
const record = {
  how: {
    recorded: new Date().toISOString().slice(0, 10),
    against:
      `Debian glance-api ${version} (OpenStack Zed) with the hybrid auth shim, started by test/rbac/start-glance-variant.sh ` +
      'on a /work/shared/peer-glance state dir: property_protection_file = property-protections-roles.conf ' +
      '(rule format roles) and property-protections-policies.conf (rule format policies, policy file ' +
      'property-protections-policy.yaml); everything else the peer default.',
    command: `node --import tsx test/rbac/record-property-protections.ts ${rolesUrl} ${policiesUrl}`,
  },
  personas: PROPERTY_PERSONAS,
  properties: PROTECTED_PROPERTIES,
  steps: PROPERTY_STEPS,
  roles,
  policies,
};
writeFileSync(new URL('./property-protections.json', import.meta.url), `${JSON.stringify(record, null, 1)}\n`);
process.stderr.write(`wrote property-protections.json: ${Object.keys(roles).length} + ${Object.keys(policies).length} cells\n`);
