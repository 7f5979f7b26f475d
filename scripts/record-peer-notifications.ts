/**
 * Records the notifications the real Glance 25.1.0 sends for the scenarios of
 * test/helpers/notification-scenarios.ts, normalised, into
 * test/fixtures/notifications/glance-25.1.0.json (the oracle test/notify/ compares Iris with).
 *
 * Needs the peer rig (../shared/peer-glance, Debian glance-api) and rabbitmq-server:
 *   node --import tsx scripts/record-peer-notifications.ts
 * Environment: PEER_GLANCE_DIR (default /tmp/peer-notify), PEER_GLANCE_PORT (default 9381),
 * PEER_GLANCE_RIG (default /work/shared/peer-glance).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, REPO_ROOT } from '../test/helpers/iris-server.js';
import { captureNotifications, normalise } from '../test/helpers/notification-capture.js';
import { SCENARIOS } from '../test/helpers/notification-scenarios.js';
import { startRabbit } from '../test/helpers/rabbitmq-server.js';

const dir = process.env.PEER_GLANCE_DIR ?? '/tmp/peer-notify';
const port = Number(process.env.PEER_GLANCE_PORT ?? 9381);
const rig = process.env.PEER_GLANCE_RIG ?? '/work/shared/peer-glance';
const base = `http://127.0.0.1:${port}`;

const rabbit = await startRabbit();
const env = {
  ...process.env,
  PEER_GLANCE_DIR: dir,
  PEER_GLANCE_PORT: String(port),
  PEER_GLANCE_BACKENDS: '',
  PEER_GLANCE_WEB_DOWNLOAD_PORTS: '',
  PEER_GLANCE_FRESH: '1',
};
try {
  mkdirSync(dir, { recursive: true });
  const extra = join(dir, 'notifications.conf');
  // The failed import fetches from a closed loopback port: allowed by name (Glance refuses loopback otherwise).
  writeFileSync(
    extra,
    `[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = ${rabbit.url.replace(/^amqp:/, 'rabbit:')}\n` +
      '[import_filtering_opts]\nallowed_hosts = [127.0.0.1]\n',
  );
  execFileSync('bash', [join(rig, 'start.sh')], { env: { ...env, PEER_GLANCE_EXTRA_CONF: extra }, stdio: 'inherit' });
  const capture = await captureNotifications(rabbit.url);
  const recording: Record<string, unknown[]> = {};
  const deadUrl = `http://127.0.0.1:${await freePort()}/nothing.img`;
  for (const [name, run] of Object.entries(SCENARIOS)) {
    capture.clear();
    await run(base, { deadUrl });
    // The peer publishes from its request and task threads: wait until nothing more comes.
    let seen = -1;
    while (seen !== capture.messages.length) {
      seen = capture.messages.length;
      await sleep(2000);
    }
    recording[name] = normalise(capture.messages);
    console.log(`${name}: ${capture.messages.length} messages`);
  }
  await capture.close();
  const out = join(REPO_ROOT, 'test/fixtures/notifications/glance-25.1.0.json');
  mkdirSync(join(REPO_ROOT, 'test/fixtures/notifications'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(recording, null, 2)}\n`);
  console.log(`wrote ${out}`);
} finally {
  execFileSync('bash', [join(rig, 'stop.sh')], { env, stdio: 'inherit' });
  await rabbit.stop();
}
