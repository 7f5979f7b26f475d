/**
 * The table of Glance's default rules in docs/policy.md, generated from GLANCE_RULE_DEFAULTS
 * so that the documentation cannot drift from the data:
 *   node --import tsx scripts/gen-policy-table.ts
 */
import { effectiveRuleTexts, GLANCE_RULE_DEFAULTS } from './glance-defaults.js';

export function renderPolicyTable(): string {
  const legacy = effectiveRuleTexts({ enforceNewDefaults: false });
  const rows = GLANCE_RULE_DEFAULTS.map((rule) => {
    const calls = (rule.operations ?? []).map((o) => `\`${o}\``).join('<br>') || '—';
    const cell = (text: string) => (text === '' ? '`""` (anyone)' : `\`${text.replace(/\|/g, '\\|')}\``);
    const old = rule.deprecated === undefined || rule.deprecated === rule.check ? '—' : cell(rule.deprecated);
    const inForce = legacy.get(rule.name)!;
    return `| \`${rule.name}\` | ${calls} | ${cell(rule.check)} | ${old} | ${inForce === rule.check ? 'the new rule' : 'new **or** deprecated'} |`;
  });
  return [
    '| Rule | Guards | New default (`enforce_new_defaults = true`) | Deprecated default | With `enforce_new_defaults = false` |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
