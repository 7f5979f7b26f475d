/** Accept-header matching, as webob does it for Glance's fault pages and the health check. */

/**
 * The q-value of the most specific Accept range matching `type/subtype` (RFC 9110 §12.5.1), or
 * -1 when no range matches.
 *
 * @example acceptQuality('text/*;q=0.5, application/json', 'text', 'html') // 0.5
 */
export function acceptQuality(accept: string, type: string, subtype: string): number {
  let best = -1;
  let bestSpecificity = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().split(';');
    const [t = '', s = ''] = range.trim().toLowerCase().split('/');
    let specificity: number;
    if (t === type && s === subtype) specificity = 2;
    else if (t === type && s === '*') specificity = 1;
    else if (t === '*' && s === '*') specificity = 0;
    else continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k?.trim() === 'q' && v !== undefined) q = Number.parseFloat(v) || 0;
    }
    if (specificity > bestSpecificity) {
      bestSpecificity = specificity;
      best = q;
    }
  }
  return best;
}
