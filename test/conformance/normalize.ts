/**
 * Normalisation of one server's answers, the same rules transcript.py applies to its record:
 * UUIDs become <ID-n> numbered by first appearance (the all-zero UUID is kept), request ids
 * req-<REQ>, the server's origin <BASE>, times <TIME>, and `tags` arrays are sorted (Glance
 * returns them in Python set order, which differs between server processes). Stricter than
 * transcript.py on times: only Glance's exact shape (second precision, `Z`) becomes <TIME>, so
 * a server that prints milliseconds or an offset shows up as a difference.
 *
 * @example
 *   const n = createNormalizer('http://127.0.0.1:9292');
 *   n.text('http://127.0.0.1:9292/v2/images/0b4c…'); // '<BASE>/v2/images/<ID-1>'
 */

const UUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
const REQUEST_ID = /req-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
const ISO_TIME = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g;
const GLANCE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ZERO = '00000000-0000-0000-0000-000000000000';

export interface Normalizer {
  text(value: string): string;
  /** A deep copy with every string normalised and every `tags` list of strings sorted. */
  json(value: unknown): unknown;
}

export function createNormalizer(baseUrl: string): Normalizer {
  const ids = new Map<string, string>();
  const origin = new URL(baseUrl).origin;

  const text = (value: string): string =>
    value
      .replace(REQUEST_ID, 'req-<REQ>')
      .replace(UUID, (m) => {
        const u = m.toLowerCase();
        if (u === ZERO) return u;
        let id = ids.get(u);
        if (id === undefined) {
          id = `<ID-${ids.size + 1}>`;
          ids.set(u, id);
        }
        return id;
      })
      .split(origin)
      .join('<BASE>')
      // Another shape keeps its digits masked, so it differs from <TIME> yet stays stable.
      .replace(ISO_TIME, (m) => (GLANCE_TIME.test(m) ? '<TIME>' : `<TIME ${m.replace(/\d/g, '9')}>`));

  const json = (value: unknown, key?: string): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) {
      const items = value.map((v) => json(v));
      if (key === 'tags' && items.every((v) => typeof v === 'string')) (items as string[]).sort();
      return items;
    }
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = json(v, k);
      return out;
    }
    return value;
  };

  return { text, json: (value) => json(value) };
}
