import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, isAllowedAddress, isPublicAddress } from './address-check.js';
import type { AddressKind } from './address-check.js';

function expectKinds(cases: ReadonlyArray<readonly [string, AddressKind]>): void {
  for (const [ip, kind] of cases) {
    assert.equal(classifyAddress(ip), kind, ip);
    assert.equal(isPublicAddress(ip), kind === 'public', ip);
  }
}

test('IPv4 special ranges', () => {
  expectKinds([
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['192.88.99.1', 'reserved'],
  ]);
});

test('IPv4 public addresses, including the neighbours of special ranges', () => {
  expectKinds([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['1.0.0.1', 'public'],
    ['9.255.255.255', 'public'],
    ['11.0.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['169.253.255.255', 'public'],
    ['192.0.3.0', 'public'],
    ['198.17.255.255', 'public'],
    ['198.20.0.0', 'public'],
    ['223.255.255.255', 'public'],
  ]);
});

test('IPv6 special ranges', () => {
  expectKinds([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd00::1', 'private'],
    ['fec0::1', 'private'],
    ['64:ff9b:1::1', 'private'],
    ['ff02::1', 'multicast'],
    ['ff0e::fb', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['2001::1', 'reserved'], // Teredo
    ['2001:2::1', 'reserved'], // benchmarking
    ['100::1', 'reserved'],
    ['1::', 'reserved'], // outside 2000::/3
    ['4000::1', 'reserved'],
    ['5f00::1', 'reserved'],
  ]);
});

test('IPv6 public addresses', () => {
  expectKinds([
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:830::200e', 'public'],
    ['3ffe:ffff::1', 'public'],
    ['2001:4860:4860::8888', 'public'],
  ]);
});

test('IPv4-mapped IPv6 is judged by its IPv4 address, however it is spelled', () => {
  expectKinds([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::FFFF:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:7F00:0001', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['0000:0000:0000:0000:0000:ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:8.8.8.8', 'public'],
  ]);
});

test('IPv4-compatible IPv6 (::a.b.c.d) is judged by its IPv4 address and is never public', () => {
  expectKinds([
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::10.0.0.1', 'private'],
    ['::169.254.169.254', 'link-local'],
    ['::8.8.8.8', 'reserved'],
    ['::0.0.0.2', 'unspecified'],
    ['0::0:1', 'loopback'], // this is ::1 itself, not an embedded address
  ]);
});

test('NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry their IPv4 address', () => {
  expectKinds([
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['64:ff9b::808:808', 'public'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a00:1::1', 'private'],
    ['2002:a9fe:a9fe:1::1', 'link-local'],
    ['2002:c0a8:101::', 'private'],
    ['2002:808:808::1', 'public'],
  ]);
});

test('zone ids are ignored; anything that is not an IP address is invalid, never public', () => {
  expectKinds([
    ['fe80::1%eth0', 'link-local'],
    ['FE80::1%1', 'link-local'],
    ['[::1]', 'invalid'],
    ['127.1', 'invalid'],
    ['2130706433', 'invalid'],
    ['0x7f.0.0.1', 'invalid'],
    ['0177.0.0.1', 'invalid'],
    ['127.000.000.001', 'invalid'],
    ['localhost', 'invalid'],
    ['', 'invalid'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['::ffff:256.0.0.1', 'invalid'],
    [' 8.8.8.8', 'invalid'],
  ]);
});

test('isAllowedAddress: by default only public addresses', () => {
  const policy = { allowPrivateNetworks: false };
  assert.equal(isAllowedAddress('93.184.216.34', policy), true);
  assert.equal(isAllowedAddress('2606:4700:4700::1111', policy), true);
  for (const ip of ['10.0.0.1', '100.64.0.1', '192.0.2.1', 'fd00::1', '127.0.0.1', '::1', '169.254.169.254', '0.0.0.0']) {
    assert.equal(isAllowedAddress(ip, policy), false, ip);
  }
});

test('isAllowedAddress: allowPrivateNetworks opens private ranges but never loopback, link-local or the like', () => {
  const policy = { allowPrivateNetworks: true };
  for (const ip of ['10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd00::1', '::ffff:10.0.0.1', '198.18.0.1']) {
    assert.equal(isAllowedAddress(ip, policy), true, ip);
  }
  for (const ip of [
    '127.0.0.1',
    '::1',
    '::ffff:127.0.0.1',
    '169.254.169.254',
    'fe80::1',
    '0.0.0.0',
    '::',
    '224.0.0.1',
    'ff02::1',
    '255.255.255.255',
    'not-an-ip',
  ]) {
    assert.equal(isAllowedAddress(ip, policy), false, ip);
  }
});

test('isAllowedAddress: allowLoopback adds loopback only', () => {
  const policy = { allowPrivateNetworks: false, allowLoopback: true };
  for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
    assert.equal(isAllowedAddress(ip, policy), true, ip);
  }
  for (const ip of ['10.0.0.1', '169.254.169.254', '0.0.0.0', 'fd00::1']) {
    assert.equal(isAllowedAddress(ip, policy), false, ip);
  }
});
