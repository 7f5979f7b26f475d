/**
 * The streaming format inspector against images made by the real tools (test/format/corpus.ts):
 * good images of every format are recognised with the virtual size `qemu-img info` reports,
 * malicious, lying, truncated and absurd ones are refused for the right reason, and the way
 * the data is cut into chunks (down to single bytes) never changes the answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeDeclaredFormat } from '../../src/format/declared-format.js';
import type { InspectionResult } from '../../src/format/detect.js';
import { createInspector, inspectBuffer } from '../../src/format/inspector.js';
import type { InspectorOptions } from '../../src/format/inspector.js';
import { buildCorpus, corpusToolsPresent, qemuInfo } from './corpus.js';
import type { CorpusImage } from './corpus.js';
import { seededRandom } from './seeded-random.js';

const tools = corpusToolsPresent();
const skip = !tools && 'qemu-img, genisoimage or sgdisk missing';

function judge(image: CorpusImage, result: InspectionResult, requireImageFormatMatch = true) {
  return judgeDeclaredFormat(result, { diskFormat: image.declared, containerFormat: 'bare' }, { requireImageFormatMatch });
}

/** Feeds `data` in chunks whose sizes come from `size(i)`. */
function inspectInChunks(data: Buffer, size: (i: number) => number, opts?: InspectorOptions): InspectionResult {
  const inspector = createInspector(opts);
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.max(1, size(i));
    inspector.write(data.subarray(at, at + n));
    at += n;
  }
  return inspector.finish();
}

test('every good image is recognised with the virtual size qemu-img reports', { skip }, () => {
  const formats = new Set<string>();
  for (const image of buildCorpus().good) {
    assert.ok(image.expect.accept);
    const result = inspectBuffer(image.data);
    assert.equal(result.format, image.expect.format, `${image.name}: format (${JSON.stringify(result)})`);
    assert.equal(result.safe, true, `${image.name}: ${result.reason}`);
    assert.equal(result.virtualSize, image.expect.virtualSize, `${image.name}: virtual size`);
    const verdict = judge(image, result);
    assert.deepEqual(verdict, { accept: true, virtualSize: image.expect.virtualSize }, image.name);
    formats.add(result.format);
  }
  assert.deepEqual([...formats].sort(), ['gpt', 'iso', 'qcow2', 'raw', 'vdi', 'vhd', 'vhdx', 'vmdk']);
});

test('every malicious, lying, truncated or absurd image is refused for the right reason', { skip }, () => {
  for (const image of buildCorpus().bad) {
    assert.ok(!image.expect.accept);
    const result = inspectBuffer(image.data);
    const verdict = judge(image, result);
    assert.equal(verdict.accept, false, `${image.name} was accepted: ${JSON.stringify(result)}`);
    if (image.expect.check === 'mismatch') {
      assert.equal(result.safe, true, `${image.name}: ${result.reason}`);
      assert.match(verdict.reason, /does not match the uploaded data/, image.name);
    } else {
      const checks = result.failures.map((f) => f.check);
      assert.ok(checks.includes(image.expect.check), `${image.name}: expected ${image.expect.check}, got ${checks.join(', ')}`);
      assert.match(verdict.reason, /^Image failed safety checks: /, image.name);
    }
  }
});

test('chunk boundaries never change the result: random sizes, tiny chunks, single bytes', { skip }, () => {
  const random = seededRandom(7);
  for (const image of [...buildCorpus().good, ...buildCorpus().bad]) {
    const whole = inspectBuffer(image.data);
    const randomSizes = inspectInChunks(image.data, () => random.int(1, 70_000));
    assert.deepEqual(randomSizes, whole, `${image.name}: random chunk sizes`);
    const tiny = inspectInChunks(image.data, () => random.int(1, 600));
    assert.deepEqual(tiny, whole, `${image.name}: chunks of 1 to 600 bytes`);
    // Single bytes through every header region (the first 64 KiB and the image's hot ranges),
    // 64 KiB strides elsewhere: byte-by-byte over whole multi-MiB images would only be slow.
    const windows: [number, number][] = [[0, 65536], ...image.hot.map(([start, end]): [number, number] => [start - 4096, end + 4096])];
    let fed = 0;
    const single = inspectInChunks(image.data, () => {
      const inWindow = windows.some(([start, end]) => fed >= start && fed < end);
      const nextWindow = Math.min(...windows.map(([start]) => (start > fed ? start : Infinity)));
      const n = inWindow ? 1 : Math.min(65536, nextWindow - fed);
      fed += n;
      return n;
    });
    assert.deepEqual(single, whole, `${image.name}: single bytes`);
  }
});

test('the corpus is really malicious: qemu-img follows what the inspector refuses', { skip }, () => {
  const corpus = buildCorpus();
  const find = (name: string) => {
    const image = corpus.bad.find((i) => i.name === name);
    assert.ok(image, name);
    const file = join(corpus.dir, `threat-${corpus.bad.indexOf(image)}`);
    writeFileSync(file, image.data);
    return file;
  };
  // qemu reads /etc/passwd as the disk of the descriptor...
  const flat = qemuInfo(find('vmdk descriptor with a FLAT extent on /etc/passwd'), 'vmdk');
  assert.equal(flat?.['virtual-size'], 4096);
  assert.match(JSON.stringify(flat), /\/etc\/passwd/);
  // ...and of a sparse header with capacity 0,
  assert.match(JSON.stringify(qemuInfo(find('vmdk sparse header of capacity 0 naming /etc/passwd'), 'vmdk')), /\/etc\/passwd/);
  // and opens the backing files of these.
  assert.ok(qemuInfo(find('qcow2 with a backing file'), 'qcow2')?.['backing-filename']);
  assert.ok(qemuInfo(find('vmdk with a parent disk'), 'vmdk')?.['backing-filename']);
  // A qcow2 smuggled in front of an ISO is what qemu's probe sees.
  assert.equal(qemuInfo(find('qcow2 header in the system area of an iso'))?.format, 'qcow2');
});

test('gpt_safety_checks_nonfatal lets named partition-table checks pass', { skip }, () => {
  const image = buildCorpus().bad.find((i) => i.name === 'MBR with an invalid boot flag');
  assert.ok(image);
  const strict = inspectBuffer(image.data);
  assert.equal(strict.safe, false);
  const relaxed = inspectBuffer(image.data, { gptSafetyChecksNonfatal: ['mbr'] });
  assert.equal(relaxed.safe, true);
  assert.deepEqual(relaxed.ignored.map((f) => f.check), ['mbr']);
  assert.deepEqual(judge(image, relaxed), { accept: true, virtualSize: image.data.length });
  // Non-fatal only for partition tables: the same names do nothing for other formats.
  const backing = buildCorpus().bad.find((i) => i.name === 'qcow2 with a backing file');
  assert.equal(inspectBuffer(backing!.data, { gptSafetyChecksNonfatal: ['mbr', 'gptmbr'] }).safe, false);
});

test('require_image_format_match=false accepts another format, but never an unsafe one', { skip }, () => {
  for (const image of buildCorpus().bad) {
    const result = inspectBuffer(image.data);
    const verdict = judge(image, result, false);
    assert.equal(verdict.accept, image.expect.accept === false && image.expect.check === 'mismatch', image.name);
    if (verdict.accept) {
      // Glance keeps raw's byte count as its virtual size; for other formats it is unknown.
      assert.equal(verdict.virtualSize, image.declared === 'raw' && image.data.length > 0 ? image.data.length : null, image.name);
    }
  }
});

test('formats no inspector checks (ami, aki, ploop…) and non-bare containers are accepted unless unsafe', { skip }, () => {
  const corpus = buildCorpus();
  const opts = { requireImageFormatMatch: true };
  for (const image of corpus.good) {
    const result = inspectBuffer(image.data);
    for (const declared of [
      { diskFormat: 'ami', containerFormat: 'ami' },
      { diskFormat: 'ploop', containerFormat: 'bare' },
      { diskFormat: 'vmdk', containerFormat: 'ova' },
    ]) {
      assert.deepEqual(judgeDeclaredFormat(result, declared, opts), { accept: true, virtualSize: null }, image.name);
    }
  }
  for (const name of ['qcow2 with a backing file', 'vmdk descriptor with a FLAT extent on /etc/passwd', 'qed']) {
    const result = inspectBuffer(corpus.bad.find((i) => i.name === name)!.data);
    assert.equal(judgeDeclaredFormat(result, { diskFormat: 'aki', containerFormat: 'aki' }, opts).accept, false, name);
    assert.equal(judgeDeclaredFormat(result, { diskFormat: 'vmdk', containerFormat: 'ovf' }, opts).accept, false, name);
  }
  // A kernel carries the boot signature without a partition table: not refused as an aki.
  const bootSector = Buffer.alloc(4096, 0x41);
  bootSector[510] = 0x55;
  bootSector[511] = 0xaa;
  const kernel = inspectBuffer(bootSector);
  assert.equal(kernel.format, 'gpt');
  assert.equal(kernel.safe, false);
  assert.equal(judgeDeclaredFormat(kernel, { diskFormat: 'aki', containerFormat: 'aki' }, opts).accept, true);
  assert.equal(judgeDeclaredFormat(kernel, { diskFormat: 'raw', containerFormat: 'bare' }, opts).accept, false);
});
