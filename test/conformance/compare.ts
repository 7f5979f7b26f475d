/**
 * Field-by-field comparison of the peer Glance's answer and Iris's answer to the same request.
 *
 * Compared: status; Content-Type, Location, Content-Range, Content-MD5, Allow, WWW-Authenticate,
 * Accept-Patch and every OpenStack-image-* header (value, or presence on one side only);
 * Content-Length of binary (image data) bodies; whether x-openstack-request-id is present;
 * bodies: binary by size and md5, JSON by key sets, value types and values, text by the whole
 * text on success and by the status line (webob's first line, or the HTML <title>) on errors.
 * Not compared: error message text (Glance's carry Python reprs), header name case,
 * Connection/Keep-Alive/Date, Content-Length of JSON and text bodies (follows from the body).
 *
 * Ids are normalised per server by first appearance, so the two numberings can drift apart
 * when one server shows an id the other does not; an IdPairing binds each peer <ID-n> to the
 * Iris <ID-m> it is first compared with and then requires that pairing everywhere.
 */
import type { Body, Exchange } from './exchange.js';

export interface Difference {
  readonly case: string;
  readonly request: string;
  /** e.g. `status`, `header content-range`, `body.images[0].name`, `body.images[0] keys`. */
  readonly field: string;
  readonly peer: string;
  readonly iris: string;
}

const COMPARED_HEADERS = [
  'content-type',
  'location',
  'content-range',
  'content-md5',
  'allow',
  'www-authenticate',
  'accept-patch',
] as const;
const ID_TOKEN = /(<ID-\d+>)/;
const ABSENT = '(absent)';

/** Binds normalised ids of the peer's record to those of Iris's record, one to one. */
export class IdPairing {
  readonly #peerToIris = new Map<string, string>();
  readonly #irisToPeer = new Map<string, string>();

  /** True when `peer` and `iris` are equal once ids are paired; binds new pairs only then. */
  same(peer: string, iris: string): boolean {
    if (peer === iris && !ID_TOKEN.test(peer)) return true;
    const a = peer.split(ID_TOKEN);
    const b = iris.split(ID_TOKEN);
    if (a.length !== b.length) return false;
    const fresh: [string, string][] = [];
    for (let i = 0; i < a.length; i++) {
      if (i % 2 === 0) {
        if (a[i] !== b[i]) return false;
        continue;
      }
      // a and b have the same length.
      const boundIris = this.#peerToIris.get(a[i]!) ?? fresh.find(([p]) => p === a[i])?.[1];
      const boundPeer = this.#irisToPeer.get(b[i]!) ?? fresh.find(([, q]) => q === b[i])?.[0];
      if (boundIris === undefined && boundPeer === undefined) fresh.push([a[i]!, b[i]!]);
      else if (boundIris !== b[i] || boundPeer !== a[i]) return false;
    }
    for (const [p, q] of fresh) {
      this.#peerToIris.set(p, q);
      this.#irisToPeer.set(q, p);
    }
    return true;
  }
}

function show(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

/** A list by its items' names (images, members) or, failing that, its JSON. */
function summary(items: readonly unknown[]): string {
  const named = items.every((v) => v !== null && typeof v === 'object' && ('name' in v || 'member_id' in v));
  if (!named) return show(items);
  return show(items.map((v) => (v as Record<string, unknown>).name ?? (v as Record<string, unknown>).member_id));
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function describe(body: Body): string {
  switch (body.kind) {
    case 'none':
      return '(no body)';
    case 'binary':
      return `<${body.size} bytes, md5 ${body.md5}>`;
    case 'json':
      return `JSON ${show(body.value)}`;
    case 'text':
      return `text ${show(body.text)}`;
  }
}

/** What an error page says apart from its message: webob's status line or the HTML title. */
function faultHeading(text: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(text);
  if (title) return `<title>${title[1]}</title>`;
  return text.split('\n', 1)[0]!;
}

function compareJson(
  peer: unknown,
  iris: unknown,
  path: string,
  ids: IdPairing,
  skip: (path: string) => boolean,
  out: (field: string, peer: string, iris: string) => void,
): void {
  if (skip(path)) return;
  const tp = typeOf(peer);
  const ti = typeOf(iris);
  if (tp !== ti) {
    out(`${path} type`, `${tp} ${show(peer)}`, `${ti} ${show(iris)}`);
    return;
  }
  if (tp === 'array') {
    const a = peer as unknown[];
    const b = iris as unknown[];
    if (a.length !== b.length) {
      // Element-wise comparison of lists of different lengths only cascades; say what each holds.
      out(`${path} length`, `${a.length} ${summary(a)}`, `${b.length} ${summary(b)}`);
      return;
    }
    for (let i = 0; i < a.length; i++) compareJson(a[i], b[i], `${path}[${i}]`, ids, skip, out);
    return;
  }
  if (tp === 'object') {
    const a = peer as Record<string, unknown>;
    const b = iris as Record<string, unknown>;
    const onlyPeer = Object.keys(a).filter((k) => !(k in b));
    const onlyIris = Object.keys(b).filter((k) => !(k in a));
    if (onlyPeer.length > 0 || onlyIris.length > 0) {
      out(`${path} keys`, onlyPeer.length > 0 ? `only here: ${onlyPeer.join(', ')}` : '-',
        onlyIris.length > 0 ? `only here: ${onlyIris.join(', ')}` : '-');
    }
    for (const k of Object.keys(a)) if (k in b) compareJson(a[k], b[k], `${path}.${k}`, ids, skip, out);
    return;
  }
  if (tp === 'string' ? !ids.same(peer as string, iris as string) : peer !== iris) out(path, show(peer), show(iris));
}

export function compareExchanges(peer: Exchange, iris: Exchange, ids: IdPairing): Difference[] {
  const diffs: Difference[] = [];
  const out = (field: string, p: string, i: string): void => {
    diffs.push({ case: peer.case, request: peer.request, field, peer: p, iris: i });
  };

  if (!ids.same(peer.request, iris.request)) out('request', peer.request, iris.request);
  if (peer.status !== iris.status) out('status', String(peer.status), String(iris.status));

  const names = new Set<string>(COMPARED_HEADERS);
  for (const h of [...peer.headers.keys(), ...iris.headers.keys()]) if (h.startsWith('openstack-image-')) names.add(h);
  if (peer.body.kind === 'binary' || iris.body.kind === 'binary') names.add('content-length');
  for (const name of names) {
    const p = peer.headers.get(name);
    const i = iris.headers.get(name);
    if (p === undefined && i === undefined) continue;
    if (p === undefined || i === undefined || !ids.same(p, i)) out(`header ${name}`, p ?? ABSENT, i ?? ABSENT);
  }
  const rid = 'x-openstack-request-id';
  if (peer.headers.has(rid) !== iris.headers.has(rid)) {
    out(`header ${rid}`, peer.headers.has(rid) ? 'present' : ABSENT, iris.headers.has(rid) ? 'present' : ABSENT);
  }

  const a = peer.body;
  const b = iris.body;
  const failed = peer.status >= 400 || iris.status >= 400;
  if (a.kind !== b.kind) {
    out('body', describe(a), describe(b));
  } else if (a.kind === 'binary' && b.kind === 'binary') {
    if (a.size !== b.size || a.md5 !== b.md5) out('body', describe(a), describe(b));
  } else if (a.kind === 'text' && b.kind === 'text') {
    const p = failed ? faultHeading(a.text) : a.text;
    const i = failed ? faultHeading(b.text) : b.text;
    if (!ids.same(p, i)) out(failed ? 'body heading' : 'body', show(p), show(i));
  } else if (a.kind === 'json' && b.kind === 'json') {
    // A JSON fault's `message` is prose (with Python reprs in Glance's); its key and the rest count.
    const skip = (path: string): boolean => failed && path === 'body.message';
    compareJson(a.value, b.value, 'body', ids, skip, out);
  }
  return diffs;
}
