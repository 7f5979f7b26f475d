/**
 * Bounded fuzzing of the inspector (fixed seed, 300 rounds): header bytes of the good corpus
 * images are mutated and the verdicts are checked against qemu itself. The inspector must
 * never throw, and anything it accepts must open in qemu, both as declared and when probed,
 * without a backing file or an external data file, as the format it was accepted as, with the
 * virtual size the inspector reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeDeclaredFormat } from '../../src/format/declared-format.js';
import type { InspectionResult } from '../../src/format/detect.js';
import { createInspector, inspectBuffer } from '../../src/format/inspector.js';
import { buildCorpus, corpusToolsPresent, qemuInfoMany } from './corpus.js';
import { mutants } from './mutate.js';
import type { Mutant } from './mutate.js';

// A longer campaign: FUZZ_ROUNDS=1500 FUZZ_SEED=<n> node --import tsx --test test/format/fuzz.test.ts
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 0x1215);
/** Accepted mutants checked by qemu per batch (each is written to its own file first). */
const BATCH = 25;

const tools = corpusToolsPresent();

test(`fuzz: ${ROUNDS} header mutations; nothing unsafe accepted, sizes agree with qemu`, { skip: !tools && 'tools missing' }, () => {
  const corpus = buildCorpus();
  const accepted: { mutant: Mutant; result: InspectionResult; virtualSize: number | null; what: string }[] = [];
  for (const [round, mutant] of mutants(corpus.good, ROUNDS, SEED).entries()) {
    const what = `round ${round}: ${mutant.base.name}, ${mutant.description}`;
    const result = inspectBuffer(mutant.data);
    // Chunking is irrelevant to the answer for broken data too.
    const chunked = createInspector();
    for (let at = 0; at < mutant.data.length; at += 4093) chunked.write(mutant.data.subarray(at, at + 4093));
    assert.deepEqual(chunked.finish(), result, what);
    const verdict = judgeDeclaredFormat(
      result,
      { diskFormat: mutant.base.declared, containerFormat: 'bare' },
      { requireImageFormatMatch: true },
    );
    if (verdict.accept) accepted.push({ mutant, result, virtualSize: verdict.virtualSize, what });
  }
  assert.ok(accepted.length > 20, `only ${accepted.length} mutants were accepted: acceptance is hardly tested`);

  for (let start = 0; start < accepted.length; start += BATCH) {
    const batch = accepted.slice(start, start + BATCH);
    const files = batch.map((entry, i) => {
      const file = join(corpus.dir, `mutant-${i}`);
      writeFileSync(file, entry.mutant.data);
      return file;
    });
    // What a consumer trusting disk_format sees, and what one probing the data sees.
    const infos = qemuInfoMany(files.flatMap((path, i) => [{ path, format: batch[i]!.mutant.base.qemuFormat }, { path }]));
    for (const [i, { mutant, result, virtualSize, what }] of batch.entries()) {
      const declared = infos[2 * i];
      const probed = infos[2 * i + 1];
      assert.ok(declared !== undefined && probed !== undefined, `${what}: qemu-img reported nothing`);
      for (const [how, info] of [['as declared', declared], ['probed', probed]] as const) {
        if (info === null) continue;
        assert.equal(info['backing-filename'], undefined, `${what}: accepted with a backing file (${how})`);
        assert.equal(info['format-specific']?.data?.['data-file'], undefined, `${what}: accepted with a data file (${how})`);
      }
      const qemuFormat = mutant.base.qemuFormat;
      assert.ok(declared !== null, `${what}: accepted, but qemu-img cannot open it as ${qemuFormat}`);
      // qemu counts raw data in whole sectors; Glance and Iris report its byte count.
      if (qemuFormat === 'raw') {
        assert.equal(declared['virtual-size'], Math.ceil(mutant.data.length / 512) * 512, what);
        assert.equal(virtualSize, mutant.data.length || null, what);
      } else {
        // Glance leaves a zero virtual size unset.
        assert.equal(virtualSize ?? 0, declared['virtual-size'], `${what}: virtual size`);
      }
      // qemu's probe must see the format that was accepted (a fixed VHD probes as raw).
      const probedAs = qemuFormat === 'vpc' && result.variant === 'fixed' ? 'raw' : qemuFormat;
      assert.equal(probed?.format, probedAs, `${what}: probed format`);
    }
  }
});
