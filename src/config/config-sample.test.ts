import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { renderOptionsTable } from './config-sample.js';

const root = new URL('../../', import.meta.url).pathname;

test('etc/iris-api.conf.sample equals what scripts/gen-config-sample.ts generates now', () => {
  const generated = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/gen-config-sample.ts'], {
    cwd: root,
    encoding: 'utf8',
  });
  const committed = readFileSync(`${root}etc/iris-api.conf.sample`, 'utf8');
  assert.equal(committed, generated, 'regenerate: node --import tsx scripts/gen-config-sample.ts > etc/iris-api.conf.sample');
});

test('the options table in docs/configuration.md is up to date', () => {
  const doc = readFileSync(`${root}docs/configuration.md`, 'utf8');
  const match = /<!-- options-table:start -->\n([\s\S]*?)<!-- options-table:end -->/.exec(doc);
  assert.ok(match, 'docs/configuration.md lacks the options-table markers');
  assert.equal(
    match[1]?.trim(),
    renderOptionsTable().trim(),
    'regenerate the table with: node --import tsx scripts/gen-config-sample.ts --markdown',
  );
});
