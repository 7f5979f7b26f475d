/**
 * Runs Debian tempest's metadefs tests (tempest.api.image.v2.admin.test_*metadef*) against
 * Iris with a real Keystone (test/helpers/keystone.ts): Iris on flavor keystone, registered as
 * the `image` service of the catalog; tempest with dynamic credentials as Keystone's admin.
 * The stock catalog is loaded first (iris-manage db load_metadefs; Debian glance-common).
 * With `--glance`, the same tests run against the real Glance 25.1.0 behind the same Keystone,
 * its catalog loaded by glance-manage db load_metadefs (test/helpers/keystone-glance.ts).
 * Needs python3-tempest, python3-keystone, uwsgi-core, uwsgi-plugin-python3 (and glance-api).
 *
 *   node --import tsx scripts/tempest-metadefs.ts [--glance] [MODULE…]
 */
import { runManage } from '../src/cli/iris-manage.js';
import { startIris } from '../test/helpers/iris-server.js';
import { keystoneIrisEnv, startKeystone } from '../test/helpers/keystone.js';
import { startKeystoneGlance } from '../test/helpers/keystone-glance.js';
import { runTempest } from './tempest-run.js';

const onGlance = process.argv.includes('--glance');
const named = process.argv.slice(2).filter((a) => a !== '--glance');

// Debian's tempest 33 has no stestr: the modules run under unittest.
const MODULES = named.length > 0 ? named : [
  'tempest.api.image.v2.admin.test_images_metadefs_namespaces',
  'tempest.api.image.v2.admin.test_images_metadefs_namespace_objects',
  'tempest.api.image.v2.admin.test_images_metadefs_namespace_properties',
  'tempest.api.image.v2.admin.test_images_metadefs_namespace_tags',
  'tempest.api.image.v2.admin.test_images_metadefs_resource_types',
  'tempest.api.image.v2.test_images_metadefs_schema',
];
const keystone = await startKeystone();
try {
  const cloud = await keystone.populate();
  if (onGlance) {
    const glance = await startKeystoneGlance(keystone, cloud, { loadMetadefs: true });
    try {
      await keystone.registerImageEndpoint(glance.url);
      process.exitCode = runTempest(keystone, cloud, ['[image]', 'endpoint_type = publicURL'], MODULES);
    } finally {
      await glance.stop();
    }
  } else {
    const iris = await startIris({ env: keystoneIrisEnv(keystone, cloud) });
    try {
      await keystone.registerImageEndpoint(iris.baseUrl);
      // A deployment has the stock catalog: tempest takes its first resource type from it.
      const loaded = await runManage(['db', 'load_metadefs'], { stdout: () => undefined, stderr: (s) => process.stderr.write(s), env: { ...process.env, IRIS_DATA_DIR: iris.dataDir } });
      if (loaded !== 0) throw new Error('iris-manage db load_metadefs failed');
      process.exitCode = runTempest(keystone, cloud, ['[image]', 'endpoint_type = publicURL'], MODULES);
    } finally {
      await iris.stop();
    }
  }
} finally {
  await keystone.stop();
}
