/**
 * docs/deployment.md shows the haproxy.cfg the cluster tests run: the page's block must be what
 * test/helpers/haproxy.ts generates (with the page's addresses), so the documented
 * configuration is the tested one. And `show stat` is read by column name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { haproxyConfig, parseStats } from '../helpers/haproxy.js';
import { REPO_ROOT } from '../helpers/iris-server.js';

test('the haproxy.cfg in docs/deployment.md is the one the tests generate', () => {
  const page = readFileSync(join(REPO_ROOT, 'docs', 'deployment.md'), 'utf8');
  const block = /```\n(global\n[\s\S]*?)```/.exec(page)?.[1];
  assert.ok(block !== undefined, 'docs/deployment.md has no haproxy.cfg block starting with "global"');
  const generated = haproxyConfig({
    port: 9292,
    socket: '/run/haproxy/admin.sock',
    servers: [11, 12, 13].map((n, i) => ({ name: `node${i + 1}`, host: `192.0.2.${n}`, port: 9292 })),
    tls: { port: 443, pem: '/etc/haproxy/images.pem' },
  });
  // The tests bind loopback only; the page listens on every address.
  const documented = block.replace('bind :9292', 'bind 127.0.0.1:9292').replace('bind :443 ', 'bind 127.0.0.1:443 ');
  assert.equal(documented.trimEnd(), generated.trimEnd());
});

test('parseStats: the backend servers of `show stat`, by column name', () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,check_status',
    'images,FRONTEND,,,0,1,2000,7,OPEN,',
    'iris,node1,0,0,0,1,,4,UP,L7OK',
    'iris,node2,0,0,0,1,,3,DOWN,L4CON',
    'iris,BACKEND,0,0,0,1,200,7,UP,',
    '',
  ].join('\n');
  assert.deepEqual(parseStats(csv), [
    { name: 'node1', status: 'UP', checkStatus: 'L7OK', sessions: 4 },
    { name: 'node2', status: 'DOWN', checkStatus: 'L4CON', sessions: 3 },
  ]);
});
