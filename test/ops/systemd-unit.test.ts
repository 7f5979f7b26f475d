import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_OPTIONS } from '../../src/config/load-config.js';
import { REPO_ROOT } from '../helpers/iris-server.js';

/** The unit's [Service] settings (last one wins, as systemd reads a plain assignment). */
function service(): Map<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'etc', 'systemd', 'iris-api.service'), 'utf8');
  const settings = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (kv && section === 'Service') settings.set(kv[1]!, kv[2]!);
  }
  return settings;
}

test('the systemd unit runs as iris, reloads with SIGHUP and stops gracefully within its timeout', () => {
  const s = service();
  assert.equal(s.get('User'), 'iris');
  assert.equal(s.get('StateDirectory'), 'iris');
  assert.equal(s.get('LogsDirectory'), 'iris');
  assert.equal(s.get('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(s.get('LimitNOFILE'), '65536');
  assert.equal(s.get('Restart'), 'on-failure');
  assert.equal(s.get('KillSignal'), 'SIGTERM');
  assert.equal(s.get('KillMode'), 'mixed', 'SIGTERM to the primary only; it stops its workers');
  assert.equal(s.get('RestartPreventExitStatus'), '2');
  const shutdownTimeout = Number(CONFIG_OPTIONS.find((o) => o.section === 'iris' && o.name === 'shutdown_timeout')?.default);
  assert.ok(Number(s.get('TimeoutStopSec')) > shutdownTimeout + 2, 'systemd must not kill a stop in progress');
  const exec = s.get('ExecStart') ?? '';
  assert.match(exec, /bin\/iris-api\.js --config-file \S+ --config-dir \S+$/);
  const text = readFileSync(join(REPO_ROOT, 'etc', 'systemd', 'iris-api.service'), 'utf8');
  assert.match(text, /^Environment=IRIS_DATA_DIR=\/var\/lib\/iris$/m, 'data paths follow the StateDirectory');
});

test('the unit and the launcher give node the V8 flags npm start gives it', () => {
  // Node refuses --initial-old-space-size in NODE_OPTIONS, so each way of starting Iris names it.
  const start = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const flags = /^node ((?:--[\w-]+=\S+ )+)bin\/iris-api\.js$/.exec(start)?.[1]?.trim();
  assert.ok(flags, `package.json start: ${start}`);
  assert.match(flags, /--initial-old-space-size=\d+/);
  assert.ok((service().get('ExecStart') ?? '').startsWith(`/usr/bin/node ${flags} `), 'systemd ExecStart');
  const shebang = readFileSync(join(REPO_ROOT, 'bin', 'iris-api.js'), 'utf8').split('\n', 1)[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
});
