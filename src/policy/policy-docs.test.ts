import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderPolicyTable } from './policy-docs.js';

test('the default-rules table in docs/policy.md is up to date', () => {
  const doc = readFileSync(new URL('../../docs/policy.md', import.meta.url), 'utf8');
  const match = /<!-- policy-table:start -->\n([\s\S]*?)<!-- policy-table:end -->/.exec(doc);
  assert.ok(match, 'docs/policy.md lacks the policy-table markers');
  assert.equal(match[1]?.trim(), renderPolicyTable().trim(), 'regenerate with: node --import tsx scripts/gen-policy-table.ts');
});
