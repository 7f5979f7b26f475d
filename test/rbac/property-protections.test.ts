/**
 * Property protections on a started Iris, in both rule formats, compared with what Glance
 * 25.1.0 did with the same files (property-protections.json, recorded by
 * record-property-protections.ts). Differences must be listed in differences.json
 * (`propertyProtections`) with a reason and may never show or allow more than Glance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startIris } from '../helpers/iris-server.js';
import type { Difference } from './compare.js';
import { runPropertyScenario, type PropertyResult } from './property-scenario.js';

const recorded = JSON.parse(readFileSync(new URL('./property-protections.json', import.meta.url), 'utf8')) as {
  roles: PropertyResult;
  policies: PropertyResult;
};
const differences = (
  JSON.parse(readFileSync(new URL('./differences.json', import.meta.url), 'utf8')) as {
    propertyProtections: (Omit<Difference, 'glance' | 'iris'> & { glance: number | string; iris: number | string })[];
  }
).propertyProtections;
const file = (name: string) => new URL(`./${name}`, import.meta.url).pathname;

/** Whether Iris's answer shows or allows more than Glance's. */
function morePermissive(glance: number | string, iris: number | string): boolean {
  if (typeof glance === 'number' && typeof iris === 'number') return glance >= 400 && iris < 400;
  return glance === 'hidden' && iris === 'shown';
}

for (const format of ['roles', 'policies'] as const) {
  test(`property protections (${format} format): Iris answers as Glance`, { timeout: 120_000 }, async () => {
    const env: Record<string, string> = {
      IRIS__DEFAULT__PROPERTY_PROTECTION_FILE: file(`property-protections-${format}.conf`),
      IRIS__DEFAULT__PROPERTY_PROTECTION_RULE_FORMAT: format,
    };
    if (format === 'policies') env.IRIS__OSLO_POLICY__POLICY_FILE = file('property-protections-policy.yaml');
    const iris = await startIris({ env });
    let result: PropertyResult;
    try {
      result = await runPropertyScenario(iris.baseUrl);
    } finally {
      await iris.stop();
    }
    const expected = { ...recorded[format] };
    for (const d of differences) {
      const [fmt, cell] = d.cell.split(':');
      if (fmt !== format) continue;
      assert.ok(cell !== undefined, `${d.cell}: not "<format>:<cell>"`);
      assert.equal(expected[cell], d.glance, `${d.cell}: the recorded Glance value changed`);
      assert.equal(morePermissive(d.glance, d.iris), false, `${d.cell}: Iris may not show or allow more than Glance`);
      expected[cell] = d.iris;
    }
    const wrong = Object.keys(expected)
      .filter((cell) => expected[cell] !== result[cell])
      .map((cell) => `${format}:${cell}: expected ${expected[cell]}, Iris ${result[cell]}`);
    assert.deepEqual(wrong, []);
  });
}
