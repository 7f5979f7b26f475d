import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InspectionResult } from './detect.js';
import { judgeDeclaredFormat } from './declared-format.js';

const result = (format: InspectionResult['format'], size: number): InspectionResult => ({
  format, variant: null, virtualSize: size, safe: true, reason: null, matches: [format], failures: [], ignored: [], size,
});
const judge = (r: InspectionResult, diskFormat: string) =>
  judgeDeclaredFormat(r, { diskFormat, containerFormat: 'bare' }, { requireImageFormatMatch: true });

test('mismatch on an empty body says 0 bytes were received and how to send the file', () => {
  const verdict = judge(result('raw', 0), 'qcow2');
  assert.equal(verdict.accept, false);
  assert.match(verdict.accept ? '' : verdict.reason, /^Image disk_format qcow2 does not match the uploaded data: received 0 bytes\. .*--data-binary @file or -T file/);
});

test('mismatch with unrecognised data names the byte count and the curl -d cause', () => {
  const verdict = judge(result('raw', 196612), 'qcow2');
  assert.equal(
    verdict.accept ? '' : verdict.reason,
    'Image disk_format qcow2 does not match the uploaded data, which is raw (no known image format) (received 196612 bytes); ' +
      'if you uploaded with curl -d, use --data-binary @file or -T file instead: -d strips line breaks from binary data.',
  );
});

test('mismatch with another recognised format: no curl hint (the data is intact, the label is wrong)', () => {
  const verdict = judge(result('vmdk', 65536), 'qcow2');
  assert.equal(verdict.accept ? '' : verdict.reason, 'Image disk_format qcow2 does not match the uploaded data, which is vmdk (received 65536 bytes).');
});
