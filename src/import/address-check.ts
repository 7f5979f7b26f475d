/**
 * Which IP addresses web-download may connect to. Fails closed: anything that is not a valid
 * IP address, or not in a range known to be globally reachable, is not public.
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96`,
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address inside, so
 * `::ffff:127.0.0.1` is loopback however it is spelled.
 */
import { BlockList, isIP } from 'node:net';

/** What an address is, for the decision and for log lines. */
export type AddressKind =
  | 'public'
  | 'loopback'
  | 'unspecified'
  | 'private'
  | 'link-local'
  | 'shared'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'invalid';

/** What besides public addresses a caller may reach. */
export interface AddressPolicy {
  /**
   * Iris's `allow_private_networks`: also allow private (RFC 1918, ULA), shared (CGNAT) and
   * reserved/documentation ranges, as Glance does by default. Loopback, link-local (cloud
   * metadata at 169.254.169.254), unspecified, multicast and broadcast stay refused.
   */
  readonly allowPrivateNetworks: boolean;
  /** Tests only: also allow loopback (127.0.0.0/8, ::1), whatever `allowPrivateNetworks` says. */
  readonly allowLoopback?: boolean;
}

function blockList(family: 'ipv4' | 'ipv6', subnets: ReadonlyArray<readonly [string, number]>): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of subnets) list.addSubnet(network, prefix, family);
  return list;
}

// IANA's IPv4 special-purpose registry, by kind; first match wins.
const V4_RANGES: ReadonlyArray<readonly [AddressKind, BlockList]> = [
  ['unspecified', blockList('ipv4', [['0.0.0.0', 8]])],
  ['loopback', blockList('ipv4', [['127.0.0.0', 8]])],
  ['private', blockList('ipv4', [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]])],
  ['link-local', blockList('ipv4', [['169.254.0.0', 16]])],
  ['shared', blockList('ipv4', [['100.64.0.0', 10]])],
  ['multicast', blockList('ipv4', [['224.0.0.0', 4]])],
  ['broadcast', blockList('ipv4', [['255.255.255.255', 32]])],
  [
    'reserved',
    blockList('ipv4', [
      ['192.0.0.0', 24], // IETF protocol assignments
      ['192.0.2.0', 24], // TEST-NET-1
      ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
      ['198.18.0.0', 15], // benchmarking
      ['198.51.100.0', 24], // TEST-NET-2
      ['203.0.113.0', 24], // TEST-NET-3
      ['240.0.0.0', 4], // future use
    ]),
  ],
];

const V6_RANGES: ReadonlyArray<readonly [AddressKind, BlockList]> = [
  ['unspecified', blockList('ipv6', [['::', 128]])],
  ['loopback', blockList('ipv6', [['::1', 128]])],
  ['multicast', blockList('ipv6', [['ff00::', 8]])],
  ['link-local', blockList('ipv6', [['fe80::', 10]])],
  [
    'private',
    blockList('ipv6', [
      ['fc00::', 7], // unique local
      ['fec0::', 10], // site-local (deprecated)
      ['64:ff9b:1::', 48], // local-use NAT64
    ]),
  ],
  [
    'reserved',
    blockList('ipv6', [
      ['100::', 64], // discard-only
      ['2001::', 23], // IETF protocol assignments, Teredo, benchmarking, ORCHID
      ['2001:db8::', 32], // documentation
      ['3fff::', 20], // documentation
    ]),
  ],
];

// Only 2000::/3 is allocated as global unicast; everything else is not (yet) public.
const V6_GLOBAL_UNICAST = blockList('ipv6', [['2000::', 3]]);

/**
 * Classifies an IP address. A zone id (`fe80::1%eth0`) is ignored.
 *
 * @returns the kind; 'invalid' for anything `net.isIP` does not accept (including host names and
 *   non-canonical IPv4 spellings such as `127.1`).
 * @example
 * classifyAddress('::ffff:169.254.169.254'); // 'link-local'
 * classifyAddress('8.8.8.8'); // 'public'
 */
export function classifyAddress(ip: string): AddressKind {
  const address = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  switch (isIP(address)) {
    case 4:
      return classifyV4(address);
    case 6:
      return classifyV6(address);
    default:
      return 'invalid';
  }
}

/**
 * Whether `ip` is a globally reachable unicast address.
 *
 * @example
 * isPublicAddress('93.184.216.34'); // true
 * isPublicAddress('::ffff:10.0.0.1'); // false
 */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip) === 'public';
}

/**
 * Whether web-download may connect to `ip` under `policy`.
 *
 * @example
 * isAllowedAddress('10.0.0.1', { allowPrivateNetworks: true }); // true
 * isAllowedAddress('169.254.169.254', { allowPrivateNetworks: true }); // false
 * isAllowedAddress('127.0.0.1', { allowPrivateNetworks: false, allowLoopback: true }); // true
 */
export function isAllowedAddress(ip: string, policy: AddressPolicy): boolean {
  const kind = classifyAddress(ip);
  switch (kind) {
    case 'public':
      return true;
    case 'loopback':
      return policy.allowLoopback === true;
    case 'private':
    case 'shared':
    case 'reserved':
      return policy.allowPrivateNetworks;
    default:
      return false;
  }
}

function classifyV4(address: string): AddressKind {
  for (const [kind, list] of V4_RANGES) if (list.check(address, 'ipv4')) return kind;
  return 'public';
}

function classifyV6(address: string): AddressKind {
  const bytes = parseIPv6(address);
  if (bytes === null) return 'invalid';
  const embedded = embeddedV4(bytes);
  if (embedded !== null) {
    const kind = classifyV4(embedded.address);
    // `::a.b.c.d` is deprecated and routes nowhere useful: never public, whatever is inside.
    return embedded.compatible && kind === 'public' ? 'reserved' : kind;
  }
  // Check the canonical form: BlockList's own parser need not share Node's isIP leniency.
  const canonical = formatIPv6(bytes);
  for (const [kind, list] of V6_RANGES) if (list.check(canonical, 'ipv6')) return kind;
  return V6_GLOBAL_UNICAST.check(canonical, 'ipv6') ? 'public' : 'reserved';
}

// The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one.
function embeddedV4(b: Uint8Array): { address: string; compatible: boolean } | null {
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const v4 = (at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return { address: v4(12), compatible: false };
  // ::/96 minus :: and ::1, which are the IPv6 unspecified and loopback addresses themselves.
  const unspecifiedOrLoopback = zeros(0, 15) && (b[15] ?? 0) <= 1;
  if (zeros(0, 12) && !unspecifiedOrLoopback) return { address: v4(12), compatible: true };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) {
    return { address: v4(12), compatible: false };
  }
  if (b[0] === 0x20 && b[1] === 0x02) return { address: v4(2), compatible: false };
  return null;
}

/** Parses an address `net.isIP` accepted as IPv6 (with `::` and a dotted tail) into 16 bytes. */
function parseIPv6(address: string): Uint8Array | null {
  let text = address.toLowerCase();
  // A dotted IPv4 tail stands for the last two groups.
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    if (a > 255 || b > 255 || c > 255 || d > 255) return null;
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const words = [...head, ...new Array<string>(missing).fill('0'), ...tail];
  const bytes = new Uint8Array(16);
  for (const [i, word] of words.entries()) {
    if (!/^[0-9a-f]{1,4}$/.test(word)) return null;
    const value = parseInt(word, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  }
  return bytes;
}

function formatIPv6(bytes: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return words.join(':');
}
