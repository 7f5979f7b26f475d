/**
 * The driver contract on the swift driver against a real Swift (test/helpers/swift-server.ts),
 * with 64 KiB segments so every edge of segmentation (chunk−1, chunk, chunk+1, 3.5 chunks) is a
 * real DLO of real segments.
 */
import { test } from 'node:test';
import { createSwiftDriver } from '../../src/blob/drivers/swift-driver.js';
import { warnCleanup } from '../../src/blob/cleanup-report.js';
import { requireSwift, startSwift } from '../helpers/swift-server.js';
import { swiftOptions, listContainer } from '../helpers/swift-driver-options.js';
import { describeDriverContract } from './driver-contract.js';

if (!requireSwift()) {
  test('swift driver contract', (t) => t.skip('Swift is not installed (see the SKIP line above)'));
} else {
  describeDriverContract('swift', async () => {
    const swift = await startSwift();
    const chunkSize = 64 * 1024;
    const driver = createSwiftDriver(swiftOptions(swift, { onCleanupError: warnCleanup }), { chunkBytes: chunkSize });
    const address = swift.authUrl.replace(/^http:\/\//, '');
    return {
      driver,
      chunkSize,
      listLeftovers: () => listContainer(swift, 'glance'),
      foreignLocations: [
        // another Swift, another container, an unknown reference, no credentials, two schemes
        `swift+http://test%3Atester:testing@127.0.0.1:1/auth/v1.0/glance/x`,
        `swift+http://test%3Atester:testing@${address}/other/x`,
        'swift+config://no-such-ref/glance/x',
        `swift+http://${address}/glance/x`,
        `swift://test:tester:testing@http://${address}/glance/x`,
      ],
      teardown: () => swift.stop(),
    };
  });
}
