import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris } from '../helpers/iris-server.js';

test('bound to 0.0.0.0, the start log names 0.0.0.0 and warns that a trusting flavor is exposed', async (t) => {
  const iris = await startIris({ env: { IRIS_HOST: '0.0.0.0' } });
  t.after(() => iris.stop());
  const lines = iris
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const listening = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('Iris listening'));
  assert.ok(listening, iris.logs());
  assert.equal(listening.address, '0.0.0.0');
  assert.equal(listening.port, iris.port);
  assert.equal(listening.msg, `Iris listening on 0.0.0.0:${iris.port}`);
  assert.ok(lines.some((l) => l.level === 40 && /trusts every caller/.test(String(l.msg))), 'warning expected');
});
