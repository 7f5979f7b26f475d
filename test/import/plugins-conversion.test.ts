/**
 * The image_conversion import plugin against the real qemu-img (Debian qemu-utils): images are
 * made with qemu-img itself, converted, and compared; unsafe and lying images are refused
 * before qemu-img runs at all (a recording wrapper proves it never ran).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Invalid, TooLarge } from '../../src/domain/errors.js';
import { createImageConversionPlugin, type ImageConversionOptions } from '../../src/import/plugins/image-conversion.js';
import { QEMU_IMG, qemuInfo } from '../format/corpus.js';
import { requireTool } from '../helpers/tools.js';
import { recordingTool, staging } from './plugins-helpers.js';

const haveQemu = requireTool('qemu-img (Debian package qemu-utils)', QEMU_IMG);
const skip = !haveQemu && 'qemu-img not installed';

const MIB = 1024 * 1024;

/** 1 MiB + 64 KiB of patterned data with holes: converting must keep every byte. */
const PAYLOAD = (() => {
  const data = Buffer.alloc(MIB + 64 * 1024);
  for (let at = 0; at < data.length; at += 4096) if ((at / 4096) % 3 !== 0) data.fill((at / 4096) % 251, at, at + 4096);
  return data;
})();

/** Images made by qemu-img in a temp dir. */
function images(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'iris-conv-src-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string) => join(dir, name);
  writeFileSync(path('payload.raw'), PAYLOAD);
  const qemu = (...args: string[]) => execFileSync(QEMU_IMG, args, { stdio: 'pipe' });
  return {
    path,
    qemu,
    /** The payload converted to `format` (qemu-img's name), with `-o options`. */
    convert(format: string, options?: string): Buffer {
      const file = path(`payload.${format}.${options ?? ''}`);
      qemu('convert', '-q', '-f', 'raw', '-O', format, ...(options ? ['-o', options] : []), path('payload.raw'), file);
      return readFileSync(file);
    },
  };
}

function plugin(qemuImg: string, over: Partial<ImageConversionOptions> = {}) {
  return createImageConversionPlugin({ outputFormat: 'raw', imageSizeCap: 1 << 30, gptSafetyChecksNonfatal: [], qemuImg, ...over });
}

/** qemu-img's subcommands in the recorded calls. */
const subcommands = (calls: string[][]) => calls.map((c) => c[0]);

test('qcow2 → raw: the payload comes back byte for byte, declared raw/bare; no temp file left', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  const qemu = recordingTool(t, QEMU_IMG);
  const ctx = st.stage(img.convert('qcow2'), { disk_format: 'qcow2', container_format: 'bare' });
  const result = await plugin(qemu.path).run(ctx);
  assert.deepEqual(result, { disk_format: 'raw', container_format: 'bare' });
  assert.ok(readFileSync(ctx.stagedPath).equals(PAYLOAD));
  assert.deepEqual(st.leftovers(), []);
  const calls = qemu.calls();
  assert.deepEqual(subcommands(calls), ['info', 'convert']);
  // The source format is always explicit: qemu-img never probes.
  assert.deepEqual(calls[1]!.slice(0, 6), ['convert', '-q', '-f', 'qcow2', '-O', 'raw']);
  assert.deepEqual(calls[0]!.slice(0, 3), ['info', '-f', 'qcow2']);
});

test('every convertible source format reaches raw with the virtual size qemu-img reports', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  const sources: [string, string, string | undefined][] = [
    ['vmdk', 'vmdk', undefined],
    ['vmdk', 'vmdk', 'subformat=streamOptimized'],
    ['vhd', 'vpc', undefined],
    ['vhd', 'vpc', 'subformat=fixed'],
    ['vhdx', 'vhdx', undefined],
    ['vdi', 'vdi', undefined],
    ['qcow2', 'qcow2', 'compat=0.10'],
  ];
  for (const [declared, qemuFormat, options] of sources) {
    const data = img.convert(qemuFormat, options);
    const src = img.path(`check.${qemuFormat}`);
    writeFileSync(src, data);
    const virtualSize = qemuInfo(src, qemuFormat)?.['virtual-size'] as number;
    const ctx = st.stage(data, { disk_format: declared });
    const result = await plugin(QEMU_IMG).run(ctx);
    assert.deepEqual(result, { disk_format: 'raw', container_format: 'bare' }, `${declared} ${options ?? ''}`);
    const converted = readFileSync(ctx.stagedPath);
    assert.equal(converted.length, virtualSize, `${declared} ${options ?? ''}: raw size is the virtual size`);
    assert.ok(converted.subarray(0, PAYLOAD.length).equals(PAYLOAD), `${declared} ${options ?? ''}: same data`);
  }
  assert.deepEqual(st.leftovers(), []);
});

test('raw → qcow2 and raw → vmdk: the result is that format, with the same content', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  for (const output of ['qcow2', 'vmdk'] as const) {
    const ctx = st.stage(PAYLOAD, { disk_format: 'raw' });
    const result = await plugin(QEMU_IMG, { outputFormat: output }).run(ctx);
    assert.deepEqual(result, { disk_format: output, container_format: 'bare' });
    const info = qemuInfo(ctx.stagedPath, output);
    assert.equal(info?.format, output);
    assert.equal(info?.['virtual-size'], PAYLOAD.length);
    if (output === 'vmdk') assert.equal(info?.['format-specific']?.data?.['create-type'], 'monolithicSparse');
    img.qemu('compare', '-q', '-f', 'raw', '-F', output, img.path('payload.raw'), ctx.stagedPath);
  }
});

test('already in the output format: checked (qemu-img info) but not converted, nothing changes', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  const qemu = recordingTool(t, QEMU_IMG);
  const qcow2 = img.convert('qcow2');
  const ctx = st.stage(qcow2, { disk_format: 'qcow2' });
  assert.equal(await plugin(qemu.path, { outputFormat: 'qcow2' }).run(ctx), undefined);
  assert.ok(readFileSync(ctx.stagedPath).equals(qcow2));
  assert.deepEqual(subcommands(qemu.calls()), ['info']);
  const raw = st.stage(PAYLOAD, { disk_format: 'raw' });
  assert.equal(await plugin(qemu.path).run(raw), undefined);
  assert.ok(readFileSync(raw.stagedPath).equals(PAYLOAD));
});

test('unsafe images are refused before qemu-img ever runs on them', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  img.qemu('create', '-q', '-f', 'qcow2', img.path('base.qcow2'), '1M');
  img.qemu('create', '-q', '-f', 'qcow2', '-b', img.path('base.qcow2'), '-F', 'qcow2', img.path('backing.qcow2'));
  img.qemu('create', '-q', '-f', 'qcow2', '-o', `data_file=${img.path('data.raw')}`, img.path('datafile.qcow2'), '1M');
  img.qemu('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', img.path('flat.vmdk'), '1M');
  const flat = readFileSync(img.path('flat.vmdk'), 'latin1').replace(/^RW \d+ FLAT "[^"]*" 0$/m, 'RW 8 FLAT "/etc/passwd" 0');
  assert.match(flat, /\/etc\/passwd/);
  const cases: [string, Buffer, string, RegExp][] = [
    ['qcow2 with a backing file', readFileSync(img.path('backing.qcow2')), 'qcow2', /Image conversion refused: Image failed safety checks: .*backing/i],
    ['qcow2 with a backing file, declared raw', readFileSync(img.path('backing.qcow2')), 'raw', /Image conversion refused: Image failed safety checks/],
    ['qcow2 with an external data file', readFileSync(img.path('datafile.qcow2')), 'qcow2', /Image conversion refused: Image failed safety checks: .*data/i],
    ['vmdk descriptor naming /etc/passwd', Buffer.from(flat, 'latin1'), 'vmdk', /Image conversion refused: Image failed safety checks/],
    ['qcow2 declared raw', img.convert('qcow2'), 'raw', /Image conversion refused: Image disk_format raw does not match the uploaded data, which is qcow2/],
    ['raw declared qcow2', PAYLOAD, 'qcow2', /Image conversion refused: Image disk_format qcow2 does not match/],
    ['vmdk declared vhd', img.convert('vmdk'), 'vhd', /does not match the uploaded data, which is vmdk/],
  ];
  for (const [name, data, declared, message] of cases) {
    const qemu = recordingTool(t, QEMU_IMG);
    const ctx = st.stage(data, { disk_format: declared });
    await assert.rejects(plugin(qemu.path).run(ctx), (e: unknown) => e instanceof Invalid && message.test(e.message), name);
    assert.deepEqual(qemu.calls(), [], `${name}: qemu-img must not run`);
    assert.ok(readFileSync(ctx.stagedPath).equals(data), `${name}: staged data untouched`);
  }
  assert.deepEqual(st.leftovers(), []);
});

test('disk formats qemu-img is not asked to convert fail as in Glance', { skip }, async (t) => {
  const st = staging(t);
  const qemu = recordingTool(t, QEMU_IMG);
  for (const format of ['iso', 'ami', 'ploop']) {
    const ctx = st.stage(PAYLOAD, { disk_format: format });
    await assert.rejects(plugin(qemu.path).run(ctx), new Invalid(`Unable to convert from format ${format}`));
  }
  assert.deepEqual(qemu.calls(), []);
});

test('a raw result over image_size_cap is refused before converting', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  const qemu = recordingTool(t, QEMU_IMG);
  img.qemu('create', '-q', '-f', 'qcow2', img.path('big.qcow2'), '64M');
  const ctx = st.stage(readFileSync(img.path('big.qcow2')), { disk_format: 'qcow2' });
  await assert.rejects(plugin(qemu.path, { imageSizeCap: 8 * MIB }).run(ctx), (e: unknown) => e instanceof TooLarge && /67108864 bytes, over the image size cap of 8388608/.test(e.message));
  assert.deepEqual(subcommands(qemu.calls()), ['info']);
  // A qcow2 result over the cap is caught after conversion; the temp file goes.
  const raw = st.stage(Buffer.alloc(2 * MIB, 7), { disk_format: 'raw' });
  await assert.rejects(plugin(QEMU_IMG, { outputFormat: 'qcow2', imageSizeCap: MIB }).run(raw), TooLarge);
  assert.equal(statSync(raw.stagedPath).size, 2 * MIB);
  assert.deepEqual(st.leftovers(), []);
});

test('qemu-img failing: its message reaches the error, the temp file is removed', { skip }, async (t) => {
  const st = staging(t);
  const img = images(t);
  const failing = recordingTool(t, QEMU_IMG, `if [ "$1" = convert ]; then echo "qemu-img: simulated write failure" >&2; exit 1; fi`);
  const qcow2 = img.convert('qcow2');
  const ctx = st.stage(qcow2, { disk_format: 'qcow2' });
  await assert.rejects(plugin(failing.path).run(ctx), new Invalid('Image conversion failed: qemu-img convert: qemu-img: simulated write failure'));
  assert.ok(readFileSync(ctx.stagedPath).equals(qcow2));
  assert.deepEqual(st.leftovers(), []);
  await assert.rejects(plugin('/nonexistent/qemu-img').run(st.stage(qcow2, { disk_format: 'qcow2' })), /qemu-img is not installed/);
});

// The hanging convert sleeps an hour: waiting for it instead of killing it hits the test's timeout.
test('aborting the import kills qemu-img and removes the temp file', { skip, timeout: 60_000 }, async (t) => {
  const st = staging(t);
  const img = images(t);
  const pidFile = join(mkdtempSync(join(tmpdir(), 'iris-conv-pid-')), 'convert.pid');
  t.after(() => rmSync(dirname(pidFile), { recursive: true, force: true }));
  // The wrapper lets convert create its output, notes its pid, then hangs (exec keeps the pid),
  // as a long conversion would.
  const slow = recordingTool(t, QEMU_IMG, `if [ "$1" = convert ]; then : > "$8"; echo $$ > '${pidFile}'; exec sleep 3600; fi`);
  const abort = new AbortController();
  const ctx = st.stage(img.convert('qcow2'), { disk_format: 'qcow2' }, { signal: abort.signal });
  const running = plugin(slow.path).run(ctx);
  // Abort once convert is really running.
  let pid = NaN;
  while (Number.isNaN(pid)) {
    await sleep(20);
    pid = existsSync(pidFile) ? Number.parseInt(readFileSync(pidFile, 'utf8'), 10) : NaN;
  }
  abort.abort(new Invalid('Import interrupted by shutdown'));
  await assert.rejects(running, new Invalid('Import interrupted by shutdown'));
  // The plugin settles only after the child closed: it is gone, not left sleeping.
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `convert (pid ${pid}) still runs`);
  assert.deepEqual(subcommands(slow.calls()), ['info', 'convert']);
  assert.deepEqual(st.leftovers(), []);
});
