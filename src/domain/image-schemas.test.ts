import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_CONTAINER_FORMATS,
  DEFAULT_DISK_FORMATS,
  imageSchema,
  imagesSchema,
  memberSchema,
  membersSchema,
  taskSchema,
  tasksSchema,
} from './image-schemas.js';

// The fixtures are the bodies of GET /v2/schemas/{name} from the Glance 25.1.0 peer at
// 127.0.0.1:9293 (single store, default formats), saved with curl.
function peerBody(name: string): string {
  const text = readFileSync(new URL(`../../test/fixtures/schemas/${name}.json`, import.meta.url), 'utf8');
  return JSON.stringify(JSON.parse(text));
}

const defaults = { diskFormats: DEFAULT_DISK_FORMATS, containerFormats: DEFAULT_CONTAINER_FORMATS };

test('each schema serialises exactly like the peer, key order included', () => {
  assert.equal(JSON.stringify(imageSchema(defaults)), peerBody('image'));
  assert.equal(JSON.stringify(imagesSchema(defaults)), peerBody('images'));
  assert.equal(JSON.stringify(memberSchema()), peerBody('member'));
  assert.equal(JSON.stringify(membersSchema()), peerBody('members'));
  assert.equal(JSON.stringify(taskSchema()), peerBody('task'));
  assert.equal(JSON.stringify(tasksSchema()), peerBody('tasks'));
});

test('the peer keeps `stores` in the image schema even without multiple stores', () => {
  const properties = imageSchema(defaults).properties as Record<string, unknown>;
  assert.ok('stores' in properties);
});

test('configured formats become the enums, after a leading null', () => {
  const schema = imageSchema({ diskFormats: ['raw'], containerFormats: ['bare', 'ovf'] });
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(properties.disk_format?.enum, [null, 'raw']);
  assert.deepEqual(properties.container_format?.enum, [null, 'bare', 'ovf']);
  const items = (imagesSchema({ diskFormats: ['raw'], containerFormats: [] }).properties as Record<string, Record<string, unknown>>)
    .images?.items as Record<string, Record<string, Record<string, unknown>>>;
  assert.deepEqual(items.properties?.disk_format?.enum, [null, 'raw']);
});

test('every call returns a fresh document', () => {
  const a = imageSchema(defaults);
  const b = imageSchema(defaults);
  assert.notEqual(a, b);
  assert.notEqual(a.properties, b.properties);
});

test('the task collection leaves out input, result and message', () => {
  const items = (tasksSchema().properties as Record<string, Record<string, Record<string, unknown>>>).tasks?.items;
  const names = Object.keys(items?.properties as object);
  assert.ok(!names.includes('input') && !names.includes('result') && !names.includes('message'));
  assert.ok(Object.keys(taskSchema().properties as object).includes('message'));
});
