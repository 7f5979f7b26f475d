/**
 * Runs Debian tempest's glance-download tests (tempest.api.image.v2.test_images.ImportImagesTest
 * test_image_glance_download_*) against Iris with a real Keystone (test/helpers/keystone.ts):
 * Iris on flavor keystone with glance-download enabled, registered as the `image` service of
 * RegionOne; tempest imports from that same region (its tests use their own region as the
 * remote one), so Iris may reach itself on loopback here. With `--glance`, the same tests run
 * against the real Glance 25.1.0 behind the same Keystone instead (test/helpers/keystone-glance.ts).
 * Needs python3-tempest, python3-keystone, uwsgi-core, uwsgi-plugin-python3 (and glance-api).
 *
 *   node --import tsx scripts/tempest-glance-download.ts [--glance]
 */
import { startIris } from '../test/helpers/iris-server.js';
import { keystoneIrisEnv, startKeystone } from '../test/helpers/keystone.js';
import { runTempest } from './tempest-run.js';
import { startKeystoneGlance } from '../test/helpers/keystone-glance.js';

const TESTS = ['success', 'bad_uuid', 'bad_endpoint', 'bad_missing_image'].map(
  (t) => `tempest.api.image.v2.test_images.ImportImagesTest.test_image_glance_download_import_${t}`,
);
const METHODS = ['glance-direct', 'web-download', 'copy-image', 'glance-download'];
const onGlance = process.argv.includes('--glance');

const keystone = await startKeystone();
try {
  const cloud = await keystone.populate();
  const server = onGlance
    ? await startKeystoneGlance(keystone, cloud, { importMethods: METHODS, allowedHosts: ['127.0.0.1'] })
    : await startIris({
        env: keystoneIrisEnv(keystone, cloud, {
          IRIS__DEFAULT__ENABLED_IMPORT_METHODS: METHODS.join(','),
          IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '',
          IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
        }),
      });
  try {
    await keystone.registerImageEndpoint('baseUrl' in server ? server.baseUrl : server.url);
    // tempest stages random bytes: raw is the disk format they are.
    process.exitCode = runTempest(keystone, cloud, ['[image]', 'endpoint_type = publicURL', 'disk_formats = raw,iso', 'container_formats = bare,ovf', '[image-feature-enabled]', 'import_image = true'], TESTS);
  } finally {
    await server.stop();
  }
} finally {
  await keystone.stop();
}
