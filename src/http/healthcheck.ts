/**
 * `/healthcheck` as Glance's pipeline serves it (oslo.middleware's Healthcheck filter with the
 * `disable_by_file` backend, as in Glance's stock paste file): any method, before version
 * negotiation and authentication. One check: "OK", or "DISABLED BY FILE" with 503 while the
 * configured file exists (how operators drain a node behind a load balancer). HEAD answers 204
 * (503 when disabled) without a body; other methods pick plain text, HTML or JSON by Accept.
 */
import { existsSync } from 'node:fs';
import { acceptQuality } from './accept.js';

export interface HealthcheckReply {
  readonly status: number;
  /** Absent for the healthy HEAD reply (a 204 carries no Content-Type). */
  readonly contentType?: string;
  readonly body: string;
}

type Offer = 'text/plain' | 'text/html' | 'application/json';
// Order matters: it breaks ties between equally acceptable types.
const OFFERS: readonly Offer[] = ['text/plain', 'text/html', 'application/json'];

/** webob's acceptable_offers: highest q first, offer order on ties; plain text when none fits. */
export function healthcheckFormat(accept: string | undefined): Offer {
  if (accept === undefined || accept.trim() === '') return 'text/plain';
  let chosen: Offer = 'text/plain';
  let chosenQ = 0;
  for (const offer of OFFERS) {
    const [type = '', subtype = ''] = offer.split('/');
    const q = acceptQuality(accept, type, subtype);
    if (q > chosenQ) {
      chosen = offer;
      chosenQ = q;
    }
  }
  return chosen;
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

/** The non-detailed HTML page, byte for byte as the middleware's template renders one result. */
function htmlPage(reason: string): string {
  return (
    '<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n\n<H2>Result of 1 checks:</H2>\n' +
    '<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n\n<TH>\nReason\n</TH>\n</TR>\n<TR>\n\n' +
    `    <TD>${htmlEscape(reason)}</TD>\n\n</TR>\n</TBODY>\n</TABLE>\n<HR></HR>\n\n</BODY>\n</HTML>`
  );
}

/**
 * @example
 *   healthcheckReply('GET', 'application/json', null).body; // '{\n    "detailed": false, …'
 */
export function healthcheckReply(method: string, accept: string | undefined, disableByFilePath: string | null): HealthcheckReply {
  const healthy = disableByFilePath === null || !existsSync(disableByFilePath);
  const reason = healthy ? 'OK' : 'DISABLED BY FILE';
  if (method === 'HEAD') {
    return healthy ? { status: 204, body: '' } : { status: 503, contentType: 'text/plain; charset=UTF-8', body: '' };
  }
  const status = healthy ? 200 : 503;
  switch (healthcheckFormat(accept)) {
    case 'application/json':
      // json.dumps(indent=4, sort_keys=True)
      return { status, contentType: 'application/json', body: `{\n    "detailed": false,\n    "reasons": [\n        ${JSON.stringify(reason)}\n    ]\n}` };
    case 'text/html':
      return { status, contentType: 'text/html; charset=UTF-8', body: htmlPage(reason) };
    default:
      return { status, contentType: 'text/plain; charset=UTF-8', body: reason };
  }
}
