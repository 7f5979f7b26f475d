/**
 * Runs Debian tempest 33's locations tests (tempest.api.image.v2.test_images.ImageLocationsTest,
 * enabled by `[image-feature-enabled] manage_locations = true`) against Iris with a real Keystone
 * (test/helpers/keystone.ts): Iris on flavor keystone with show_multiple_locations and
 * show_image_direct_url on and the stores `file,http`, registered as the `image` service.
 * tempest's `[image] http_image` is a local http server of random bytes (Python's http.server
 * in a child process: tempest runs synchronously, so this process cannot serve them), so
 * loopback is allowed for http locations. With
 * `--glance`, the same tests run against the real Glance 25.1.0 with the same options
 * (test/helpers/keystone-glance.ts). Needs python3-tempest, python3-keystone, uwsgi-core,
 * uwsgi-plugin-python3 (and glance-api).
 *
 *   node --import tsx scripts/tempest-locations.ts [--glance]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIris } from '../test/helpers/iris-server.js';
import { keystoneIrisEnv, startKeystone } from '../test/helpers/keystone.js';
import { startKeystoneGlance } from '../test/helpers/keystone-glance.js';
import { runTempest } from './tempest-run.js';

const TESTS = ['tempest.api.image.v2.test_images.ImageLocationsTest'];
const onGlance = process.argv.includes('--glance');

const imagesDir = mkdtempSync(join(tmpdir(), 'iris-tempest-images-'));
writeFileSync(join(imagesDir, 'tempest.img'), randomBytes(4096));
const images = spawn('/usr/bin/python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '0'], { cwd: imagesDir, stdio: ['ignore', 'pipe', 'ignore'] });
let banner = '';
while (!/port (\d+)/.test(banner)) {
  const [chunk] = (await once(images.stdout, 'data')) as [Buffer];
  banner += chunk.toString();
}
const imagesBase = `http://127.0.0.1:${/port (\d+)/.exec(banner)![1]}`;
const keystone = await startKeystone();
try {
  const cloud = await keystone.populate();
  const server = onGlance
    ? await startKeystoneGlance(keystone, cloud, {
        allowedHosts: ['127.0.0.1'],
        stores: ['file', 'http'],
        defaultLines: ['show_multiple_locations = True', 'show_image_direct_url = True'],
      })
    : await startIris({
        env: keystoneIrisEnv(keystone, cloud, {
          IRIS__GLANCE_STORE__STORES: 'file,http',
          IRIS__GLANCE_STORE__DEFAULT_STORE: 'file',
          IRIS__DEFAULT__SHOW_MULTIPLE_LOCATIONS: 'true',
          IRIS__DEFAULT__SHOW_IMAGE_DIRECT_URL: 'true',
          IRIS__IMPORT_FILTERING_OPTS__ALLOWED_PORTS: '',
          IRIS__IMPORT_FILTERING_OPTS__ALLOW_LOOPBACK: 'true',
        }),
      });
  try {
    await keystone.registerImageEndpoint('baseUrl' in server ? server.baseUrl : server.url);
    process.exitCode = runTempest(
      keystone,
      cloud,
      ['[image]', 'endpoint_type = publicURL', `http_image = ${imagesBase}/tempest.img`, '[image-feature-enabled]', 'manage_locations = true'],
      TESTS,
    );
  } finally {
    await server.stop();
  }
} finally {
  await keystone.stop();
  images.kill();
  rmSync(imagesDir, { recursive: true, force: true });
}
