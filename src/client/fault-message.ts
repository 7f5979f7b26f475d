/**
 * Reads the human message out of an error body. Glance answers `Accept: application/json`
 * with `{"message", "code", "title"}` where the message carries webob's HTML padding
 * (`…<br /><br />\n\n\n`); Keystone wraps the same fields in `{"error": {…}}`; anything else
 * (a proxy's HTML page, webob's text/plain page) is reduced to its text.
 */

export interface FaultText {
  /** The message, `<br />` padding and blank lines removed; lines kept apart by "\n". */
  readonly message: string;
  /** The reason phrase, e.g. "Not Found", when the body names one. */
  readonly title?: string;
}

function clean(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, '\n')
    // block elements end lines, so a page's title and heading stay apart from its text
    .replace(/<\/?(html|head|title|body|h\d|p|div|pre)\b[^>]*>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/g, ''))
    .filter((line) => line.trim() !== '')
    .join('\n');
}

function pick(obj: unknown): FaultText | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  const rec = obj as Record<string, unknown>;
  if (typeof rec.message === 'string') {
    return { message: clean(rec.message), title: typeof rec.title === 'string' ? rec.title : undefined };
  }
  // Keystone: {"error": {"message", "code", "title"}}; some services nest one level deeper.
  for (const value of Object.values(rec)) {
    if (value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>).message === 'string') {
      return pick(value);
    }
  }
  return undefined;
}

/**
 * The message of an error body, given the answer's status line for fallbacks.
 *
 * @example
 *   faultText('{"message": "No image found with ID x<br /><br />\\n\\n\\n", "code": "404 Not Found", "title": "Not Found"}', 404)
 *   // { message: 'No image found with ID x', title: 'Not Found' }
 */
export function faultText(body: string, status: number, statusText = ''): FaultText {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    try {
      const found = pick(JSON.parse(trimmed));
      if (found !== undefined && found.message !== '') return found;
    } catch {
      // not JSON after all; fall through to the text handling
    }
  }
  const lines = clean(trimmed).split('\n').map((l) => l.trim());
  // webob's text and HTML pages start with "404 Not Found" (title, then h1): drop those.
  const statusLine = new RegExp(`^${status}\\b`);
  const rest = lines.filter((l) => l !== '' && !statusLine.test(l));
  return { message: rest.join('\n') || statusText || `HTTP ${status}`, title: statusText || undefined };
}
