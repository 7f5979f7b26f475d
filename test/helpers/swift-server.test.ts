// The Swift starter itself: it starts, authenticates both accounts, stores and returns an object
// (also over S3 with the colon-free alias key), forgets a revoked token, and stop() leaves no
// process and no directory behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { requireSwift, startSwift, type SwiftServer } from './swift-server.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of processes whose command line mentions `dir` (the servers carry it as an argument). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

test('swift starter: start, auth, PUT/GET, revoke, stop', async (t) => {
  if (!requireSwift()) {
    t.skip('Swift is not installed (see the SKIP line above)');
    return;
  }
  let swift: SwiftServer | undefined;
  after(() => swift?.stop());
  swift = await startSwift();
  const { dir } = swift;
  assert.equal(processesUsing(dir).length, 4, 'account, container, object and proxy servers run');

  const { storageUrl, token } = await swift.auth();
  assert.equal(storageUrl, `${swift.s3Endpoint}/v1/AUTH_test`);
  const second = await swift.auth(swift.second);
  assert.equal(second.storageUrl, `${swift.s3Endpoint}/v1/AUTH_test2`);

  const headers = { 'x-auth-token': token };
  assert.equal((await fetch(`${storageUrl}/c1`, { method: 'PUT', headers })).status, 201);
  const put = await fetch(`${storageUrl}/c1/hello`, { method: 'PUT', headers, body: 'hello swift' });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('etag'), createHash('md5').update('hello swift').digest('hex'));
  const got = await fetch(`${storageUrl}/c1/hello`, { headers });
  assert.equal(got.status, 200);
  assert.equal(await got.text(), 'hello swift');
  // Over S3, the colon-free alias key is the same user: what it writes is in that user's account.
  const s3 = new S3Client({
    endpoint: swift.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: swift.s3AccessKeyAlias, secretAccessKey: swift.s3SecretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'via-alias' }));
    await s3.send(new PutObjectCommand({ Bucket: 'via-alias', Key: 'hello', Body: 'hello s3' }));
  } finally {
    s3.destroy();
  }
  const viaAlias = await fetch(`${storageUrl}/via-alias/hello`, { headers });
  assert.equal(await viaAlias.text(), 'hello s3');
  // The other account does not see it.
  const other = await fetch(`${second.storageUrl}/c1/hello`, { headers: { 'x-auth-token': second.token } });
  await other.arrayBuffer();
  assert.equal(other.status, 404);

  await swift.revokeToken(token);
  const revoked = await fetch(`${storageUrl}/c1/hello`, { headers });
  await revoked.arrayBuffer();
  assert.equal(revoked.status, 401);
  const fresh = await swift.auth();
  assert.notEqual(fresh.token, token, 'tempauth issues a new token once the old one is gone');

  const pids = [...swift.pids, ...processesUsing(dir)];
  assert.equal(swift.pids.length, 5, 'memcached and four servers');
  await swift.stop();
  assert.deepEqual(pids.filter(alive), [], 'no server process is left');
  assert.equal(existsSync(dir), false, 'the state directory is removed');
});
