import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detect } from './detect.js';
import type { FormatFinding } from './format-inspector.js';

const qcow2: FormatFinding = { format: 'qcow2', virtualSize: 1024, failures: [] };
const iso: FormatFinding = { format: 'iso', variant: 'iso9660', virtualSize: 4096, failures: [] };
const gpt: FormatFinding = { format: 'gpt', variant: 'gpt', virtualSize: 4096, failures: [] };
const fixedVhd: FormatFinding = { format: 'vhd', variant: 'fixed', virtualSize: 3584, failures: [] };
const dynamicVhd: FormatFinding = { format: 'vhd', variant: 'dynamic', virtualSize: 3584, failures: [] };

test('detect: nothing recognised is raw, with the data size as virtual size', () => {
  assert.deepEqual(detect([], 1234), {
    format: 'raw', variant: null, virtualSize: 1234, safe: true, reason: null, matches: [], failures: [], ignored: [], size: 1234,
  });
});

test('detect: one finding decides; failures make it unsafe, one reason per check', () => {
  const bad: FormatFinding = {
    format: 'qcow2',
    virtualSize: 1024,
    failures: [
      { check: 'data_file', reason: 'uses a data file' },
      { check: 'data_file', reason: 'names a data file' },
      { check: 'backing_file', reason: 'has a backing file' },
    ],
  };
  const result = detect([bad], 10);
  assert.equal(result.safe, false);
  assert.equal(result.reason, 'uses a data file; has a backing file');
  assert.equal(detect([qcow2], 10).safe, true);
});

test('detect: an ISO with a partition table is an ISO, a fixed VHD of a partitioned disk a VHD', () => {
  assert.equal(detect([iso, gpt], 4096).format, 'iso');
  assert.equal(detect([fixedVhd, gpt], 4096).format, 'vhd');
  assert.equal(detect([fixedVhd, iso, gpt], 4096).format, 'vhd');
  assert.deepEqual(detect([iso, gpt], 4096).matches, ['iso', 'gpt']);
});

test('detect: any other combination is refused as ambiguous', () => {
  for (const findings of [[qcow2, iso], [qcow2, gpt], [dynamicVhd, gpt], [fixedVhd, qcow2], [qcow2, iso, gpt]]) {
    const result = detect(findings, 4096);
    assert.equal(result.safe, false, findings.map((f) => f.format).join('+'));
    assert.deepEqual(result.failures.map((f) => f.check), ['ambiguous']);
    assert.match(result.reason ?? '', /several formats/);
  }
});

test('detect: gpt_safety_checks_nonfatal only relaxes partition-table findings', () => {
  const badMbr: FormatFinding = { format: 'gpt', virtualSize: 4096, failures: [{ check: 'mbr', reason: 'bad boot flag' }] };
  const relaxed = detect([badMbr], 4096, { gptSafetyChecksNonfatal: ['mbr'] });
  assert.equal(relaxed.safe, true);
  assert.deepEqual(relaxed.ignored, badMbr.failures);
  assert.equal(detect([badMbr], 4096, { gptSafetyChecksNonfatal: ['gptmbr'] }).safe, false);
  const qcow2Mbr: FormatFinding = { format: 'qcow2', virtualSize: 1, failures: [{ check: 'mbr', reason: 'not a gpt check' }] };
  assert.equal(detect([qcow2Mbr], 1, { gptSafetyChecksNonfatal: ['mbr'] }).safe, false);
});
