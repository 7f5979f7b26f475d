import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeDeclaredFormat } from './declared-format.js';
import { detect } from './detect.js';
import type { DetectedFormat, FormatFinding } from './format-inspector.js';

const strict = { requireImageFormatMatch: true };
const lax = { requireImageFormatMatch: false };
const bare = (diskFormat: string | null) => ({ diskFormat, containerFormat: 'bare' });

function result(format: DetectedFormat | 'raw', virtualSize = 4096, failures: FormatFinding['failures'] = []) {
  return format === 'raw' ? detect([], 5000) : detect([{ format, virtualSize, failures }], 5000);
}

test('declared format: the declared format is accepted with its virtual size', () => {
  for (const format of ['qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso'] as const) {
    assert.deepEqual(judgeDeclaredFormat(result(format), bare(format), strict), { accept: true, virtualSize: 4096 }, format);
  }
  assert.deepEqual(judgeDeclaredFormat(result('raw'), bare('raw'), strict), { accept: true, virtualSize: 5000 });
  // A partitioned disk is a raw disk.
  assert.deepEqual(judgeDeclaredFormat(result('gpt', 5000), bare('raw'), strict), { accept: true, virtualSize: 5000 });
  assert.deepEqual(judgeDeclaredFormat(result('gpt', 5000), bare('gpt'), strict), { accept: true, virtualSize: 5000 });
  // Glance leaves a zero virtual size unset.
  assert.deepEqual(judgeDeclaredFormat(detect([], 0), bare('raw'), strict), { accept: true, virtualSize: null });
});

test('declared format: another format is refused, or accepted without virtual size when not required', () => {
  const cases: [DetectedFormat | 'raw', string][] = [['qcow2', 'raw'], ['raw', 'qcow2'], ['vmdk', 'vhd'], ['iso', 'raw'], ['gpt', 'iso']];
  for (const [detected, declared] of cases) {
    const verdict = judgeDeclaredFormat(result(detected), bare(declared), strict);
    assert.equal(verdict.accept, false, `${detected} as ${declared}`);
    assert.match(!verdict.accept ? verdict.reason : '', new RegExp(`disk_format ${declared} does not match`));
    const relaxed = judgeDeclaredFormat(result(detected), bare(declared), lax);
    assert.deepEqual(relaxed, { accept: true, virtualSize: declared === 'raw' ? 5000 : null }, `${detected} as ${declared}, lax`);
  }
});

test('declared format: unsafe data is refused whatever is declared and configured', () => {
  const unsafe = result('qcow2', 4096, [{ check: 'backing_file', reason: 'qcow2 image has a backing file' }]);
  for (const declared of [bare('qcow2'), bare('raw'), bare('ami'), { diskFormat: 'aki', containerFormat: 'aki' }, { diskFormat: 'vmdk', containerFormat: 'ova' }]) {
    for (const opts of [strict, lax]) {
      const verdict = judgeDeclaredFormat(unsafe, declared, opts);
      assert.deepEqual(verdict, { accept: false, reason: 'Image failed safety checks: qcow2 image has a backing file.' });
    }
  }
});

test('declared format: formats no inspector checks, and archives, are accepted without virtual size', () => {
  for (const declared of [bare('ami'), bare('ari'), bare('aki'), bare('ploop'), { diskFormat: 'qcow2', containerFormat: 'ova' }, { diskFormat: 'raw', containerFormat: 'docker' }]) {
    assert.deepEqual(judgeDeclaredFormat(result('qcow2'), declared, strict), { accept: true, virtualSize: null });
  }
  // Partition-table findings do not refuse what is not a disk (a kernel has the boot signature).
  const badMbr = result('gpt', 5000, [{ check: 'mbr', reason: 'MBR defines no partitions' }]);
  assert.deepEqual(judgeDeclaredFormat(badMbr, { diskFormat: 'aki', containerFormat: 'aki' }, strict), { accept: true, virtualSize: null });
  assert.equal(judgeDeclaredFormat(badMbr, bare('raw'), strict).accept, false);
  assert.equal(judgeDeclaredFormat(badMbr, bare('raw'), lax).accept, false);
});
