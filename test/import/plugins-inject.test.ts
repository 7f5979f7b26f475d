/**
 * The inject_image_metadata import plugin, the plugin options as the configuration loader reads
 * them (Glance's sections and syntax), and createImportPlugins building them in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { createImportPlugins } from '../../src/import/plugins/index.js';
import { createInjectImageMetadataPlugin } from '../../src/import/plugins/inject-image-metadata.js';
import { testImage } from './plugins-helpers.js';

const ctx = (roles: string[]) => ({
  imageId: 'img',
  image: testImage({ id: 'img', properties: { hw_disk_bus: 'ide' } }),
  stagedPath: '/nonexistent/img',
  tempDir: '/nonexistent/.tmp',
  roles,
  signal: new AbortController().signal,
});

test('inject: sets the properties unless the caller holds an ignored role', async () => {
  const dropped: string[] = [];
  const plugin = createInjectImageMetadataPlugin({
    inject: { hw_disk_bus: 'virtio', 'trait:CUSTOM_X': 'required', os_glance_import_task: 'x', os_glancefoo: 'y' },
    ignoreUserRoles: ['admin', 'Operator'],
    onDropped: ({ key }) => dropped.push(key),
  });
  assert.equal(plugin.name, 'inject_image_metadata');
  // Injected values overwrite the image's own; the reserved namespace (a bare prefix) is dropped.
  assert.deepEqual(await plugin.run(ctx(['member', 'reader'])), { properties: { hw_disk_bus: 'virtio', 'trait:CUSTOM_X': 'required' } });
  assert.deepEqual(dropped, ['os_glance_import_task', 'os_glancefoo']);
  assert.equal(await plugin.run(ctx(['member', 'admin'])), undefined);
  assert.equal(await plugin.run(ctx(['OPERATOR'])), undefined, 'roles compare without case');
  assert.equal(await createInjectImageMetadataPlugin({ inject: {}, ignoreUserRoles: [] }).run(ctx([])), undefined);
  assert.equal(await createInjectImageMetadataPlugin({ inject: { os_glance_x: 'y' }, ignoreUserRoles: [] }).run(ctx([])), undefined);
});

function load(t: { after: (fn: () => void) => void }, env: Record<string, string>) {
  const cwd = mkdtempSync(join(tmpdir(), 'iris-plugin-config-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  return loadConfig({ argv: [], env, cwd });
}

function refused(t: { after: (fn: () => void) => void }, env: Record<string, string>, ...patterns: RegExp[]) {
  assert.throws(
    () => load(t, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      for (const p of patterns) assert.match(error.message, p);
      return true;
    },
  );
}

test('config: defaults as in Glance', (t) => {
  const config = load(t, {});
  assert.deepEqual(config.image_import_opts, { image_import_plugins: [] });
  assert.deepEqual(config.image_conversion, { output_format: 'raw' });
  assert.deepEqual(config.inject_metadata_properties, { ignore_user_roles: ['admin'], inject: {} });
  assert.deepEqual(createImportPlugins(config), []);
});

test('config: image_import_plugins, bracketed or not, in order; unknown names refused', (t) => {
  const plugins = (value: string) => load(t, { IRIS__IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: value }).image_import_opts.image_import_plugins;
  assert.deepEqual(plugins('image_decompression,image_conversion'), ['image_decompression', 'image_conversion']);
  assert.deepEqual(plugins("['inject_image_metadata', 'image_conversion']"), ['inject_image_metadata', 'image_conversion']);
  assert.deepEqual(plugins('[no_op]'), ['no_op'], "Glance's sample default");
  assert.deepEqual(plugins('image_conversion,image_conversion'), ['image_conversion']);
  assert.deepEqual(plugins('[]'), []);
  refused(t, { IRIS__IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: '[image_conversion,virus_scan]' }, /\[image_import_opts\] image_import_plugins/, /unknown import plugin virus_scan/);
  const config = load(t, { IRIS__IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: '[inject_image_metadata,image_decompression,no_op,image_conversion]' });
  assert.deepEqual(createImportPlugins(config).map((p) => p.name), ['inject_image_metadata', 'image_decompression', 'no_op', 'image_conversion']);
});

test('config: output_format is one of Glance’s choices', (t) => {
  for (const format of ['raw', 'qcow2', 'vmdk']) {
    assert.equal(load(t, { IRIS__IMAGE_CONVERSION__OUTPUT_FORMAT: format }).image_conversion.output_format, format);
  }
  refused(t, { IRIS__IMAGE_CONVERSION__OUTPUT_FORMAT: 'vhd' }, /\[image_conversion\] output_format/, /"vhd" is not one of raw, qcow2, vmdk/);
});

test('config: inject in oslo.config dict syntax; ignore_user_roles a list', (t) => {
  const inject = (value: string) => load(t, { IRIS__INJECT_METADATA_PROPERTIES__INJECT: value }).inject_metadata_properties.inject;
  assert.deepEqual(inject('k1:v1,k2:v2'), { k1: 'v1', k2: 'v2' });
  assert.deepEqual(inject(' hw_vif_model : virtio , trait:CUSTOM_A:required '), { hw_vif_model: 'virtio', trait: 'CUSTOM_A:required' }, 'value after the first colon');
  assert.deepEqual(inject('empty:'), { empty: '' });
  assert.deepEqual(inject('os_glance_x:kept'), { os_glance_x: 'kept' }, 'dropped at import, as Glance does, not refused');
  assert.deepEqual(inject(''), {});
  const key = (value: string, ...patterns: RegExp[]) => refused(t, { IRIS__INJECT_METADATA_PROPERTIES__INJECT: value }, /\[inject_metadata_properties\] inject/, ...patterns);
  key('novalue', /"novalue" is not key:value/);
  key('a:1,', /"" is not key:value/);
  key(':v', /empty key/);
  key('a:1,a:2', /key "a" is given twice/);
  key(`${'k'.repeat(256)}:v`, /longer than 255 characters/);
  key('name:evil', /key "name" is an image attribute/);
  key('status:active', /key "status" is an image attribute/);
  const roles = load(t, { IRIS__INJECT_METADATA_PROPERTIES__IGNORE_USER_ROLES: '[admin,operator]' }).inject_metadata_properties.ignore_user_roles;
  assert.deepEqual(roles, ['admin', 'operator']);
  assert.deepEqual(load(t, { IRIS__INJECT_METADATA_PROPERTIES__IGNORE_USER_ROLES: '' }).inject_metadata_properties.ignore_user_roles, []);
});
