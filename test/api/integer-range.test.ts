/** min_disk / min_ram over HTTP: integers beyond Glance's 4-byte INT are 400, never 500 or rounded. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';

let iris: IrisProcess;
before(async () => {
  iris = await startIris();
});
after(() => iris.stop());

async function call(method: string, path: string, contentType: string, body: string) {
  const res = await fetch(`${iris.baseUrl}${path}`, { method, headers: { 'Content-Type': contentType, Accept: '' }, body });
  return { status: res.status, text: await res.text() };
}
const create = (body: string) => call('POST', '/v2/images', 'application/json', body);
const patch = (id: string, body: string) => call('PATCH', `/v2/images/${id}`, 'application/openstack-images-v2.1-json-patch', body);
const outOfRange = (key: string): string => `400 Bad Request\n\n'${key}' value out of range, must not exceed 2147483647.\n\n   `;

test('create: 2^63, 2^53 + 1 and 2^31 are 400 with Glance\'s text; 2^31 - 1 is kept exactly', async () => {
  // Peer (port 9394): the same status and text for each.
  assert.deepEqual(await create('{"min_disk": 9223372036854775808}'), { status: 400, text: outOfRange('min_disk') });
  assert.deepEqual(await create('{"min_ram": 9007199254740993}'), { status: 400, text: outOfRange('min_ram') });
  assert.deepEqual(await create('{"min_disk": 2147483648, "min_ram": 2147483648}'), { status: 400, text: outOfRange('min_disk') });
  const ok = await create('{"min_disk": 2147483647, "min_ram": 2147483647}');
  assert.equal(ok.status, 201);
  const image = JSON.parse(ok.text);
  assert.equal(image.min_disk, 2147483647);
  assert.equal(image.min_ram, 2147483647);
  const shown = await fetch(`${iris.baseUrl}/v2/images/${image.id}`);
  assert.equal((await shown.json()).min_disk, 2147483647);
});

test('create: non-integers and negatives are refused by the schema and the setter', async () => {
  for (const [value, shown] of [['1.5', '1.5'], ['"1"', "'1'"], ['true', 'True']]) {
    const r = await create(`{"min_disk": ${value}}`);
    assert.equal(r.status, 400, value);
    assert.ok(r.text.startsWith(`400 Bad Request\n\nProvided object does not match schema 'image': ${shown} is not of type 'integer'`), r.text);
  }
  const negative = await create('{"min_ram": -1}');
  assert.equal(negative.status, 400);
  assert.match(negative.text, /Invalid value '-1' for parameter 'min_ram': Cannot be a negative value/);
});

test('patch: replace and add beyond 2^31 - 1 are 400 and change nothing', async () => {
  const { text } = await create('{"min_ram": 7}');
  const id = JSON.parse(text).id as string;
  assert.deepEqual(await patch(id, '[{"op": "replace", "path": "/min_ram", "value": 9223372036854775808}]'), { status: 400, text: outOfRange('min_ram') });
  assert.deepEqual(await patch(id, '[{"op": "add", "path": "/min_disk", "value": 2147483648}]'), { status: 400, text: outOfRange('min_disk') });
  const half = await patch(id, '[{"op": "replace", "path": "/min_ram", "value": 1.5}]');
  assert.equal(half.status, 400);
  const shown = await (await fetch(`${iris.baseUrl}/v2/images/${id}`)).json();
  assert.equal(shown.min_ram, 7);
  assert.equal(shown.min_disk, 0);
  const ok = await patch(id, '[{"op": "replace", "path": "/min_ram", "value": 2147483647}]');
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.text).min_ram, 2147483647);
});
