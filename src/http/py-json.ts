/**
 * JSON text in the layout Python's `json.dumps` produces (", " and ": " separators), which is
 * what Glance sends. Clients do not care, but byte-identical bodies make Iris's responses
 * diff cleanly against recorded Glance transcripts (and Content-Length match).
 * Non-ASCII stays raw UTF-8, as Glance's `ensure_ascii=False`.
 */
export function pyJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ', ';
          out += pyJson(value[i] === undefined ? null : value[i]);
        }
        return out + ']';
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      let out = '{';
      let first = true;
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        if (!first) out += ', ';
        first = false;
        out += JSON.stringify(key) + ': ' + pyJson(v);
      }
      return out + '}';
    }
    default:
      return 'null';
  }
}
