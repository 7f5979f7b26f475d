/**
 * `/healthcheck` as Glance's pipeline serves it (oslo.middleware's Healthcheck): any method,
 * before version negotiation and authentication. The answer lists the results of the checks
 * (health/health-checks.ts): 200 when all are available, else 503 (how operators drain a node
 * behind a load balancer: disable_by_file). HEAD answers 204 (503) without a body; other
 * methods pick plain text, HTML or JSON by Accept. The detailed view (`[healthcheck]
 * detailed`, for admins) has the middleware's detailed JSON and HTML shapes; the Python-only
 * fields hold Node's equivalents (see docs/metrics.md).
 */
import { hostname as osHostname, machine, release, type as osType } from 'node:os';
import type { HealthResult } from '../health/health-checks.js';
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

/** What the detailed view says about the server (the middleware's hostname, now, version, platform). */
export interface ServerFacts {
  readonly hostname: string;
  /** Python's str(datetime.utcnow()): `YYYY-MM-DD HH:MM:SS.ffffff`. */
  readonly now: string;
  /** The runtime in place of python_version. */
  readonly version: string;
  readonly platform: string;
}

export function serverFacts(now: Date = new Date()): ServerFacts {
  const iso = now.toISOString(); // 2026-12-06T16:00:00.123Z
  // Python prints no fraction when the microseconds are 0.
  const fraction = now.getUTCMilliseconds() === 0 ? '' : `${iso.slice(19, 23)}000`;
  return {
    hostname: osHostname(),
    now: `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}`,
    version: `Node.js ${process.version}`,
    platform: `${osType()}-${release()}-${machine()}`,
  };
}

/** jinja2's `|e`. */
function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

/** json.dumps(indent=4, sort_keys=True): keys sorted, non-ASCII escaped. */
function pythonPrettyJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(sorted(value), null, 4).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The middleware's HTML template, as jinja2 renders it (rows only for results with a reason). */
function htmlPage(results: readonly HealthResult[], facts: ServerFacts | null): string {
  const shown = results.filter((r) => r.reason !== '');
  let page = '<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n';
  if (facts !== null) {
    page +=
      '<H1>Server status</H1>\n' +
      (facts.hostname ? `<B>Server hostname:</B><PRE>${htmlEscape(facts.hostname)}</PRE>` : '') +
      `\n<B>Current time:</B><PRE>${htmlEscape(facts.now)}</PRE>\n<B>Python version:</B><PRE>${htmlEscape(facts.version)}</PRE>\n` +
      `<B>Platform:</B><PRE>${htmlEscape(facts.platform)}</PRE>\n<HR></HR>\n<H2>Garbage collector:</H2>\n` +
      '<B>Counts:</B><PRE>()</PRE>\n<B>Thresholds:</B><PRE>()</PRE>\n<HR></HR>';
  }
  page += `\n<H2>Result of ${results.length} checks:</H2>\n<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n`;
  page += facts !== null ? '<TH>\nKind\n</TH>\n<TH>\nReason\n</TH>\n<TH>\nDetails\n</TH>\n\n</TR>\n' : '\n<TH>\nReason\n</TH>\n</TR>\n';
  page += shown
    .map((r) =>
      facts !== null
        ? `<TR>\n<TD>HealthcheckResult</TD>\n    <TD>${htmlEscape(r.reason)}</TD>\n<TD>${htmlEscape(r.details)}</TD>\n</TR>`
        : `<TR>\n\n    <TD>${htmlEscape(r.reason)}</TD>\n\n</TR>`,
    )
    .join('');
  // Node has no thread stacks to list: the detailed page ends as the template does without them.
  page += `\n</TBODY>\n</TABLE>\n<HR></HR>\n${facts !== null ? '\n\n' : '\n'}</BODY>\n</HTML>`;
  return page;
}

/**
 * The answer for `results`; `facts` non-null gives the detailed view.
 *
 * @example
 *   healthcheckReply('GET', 'application/json', [disableByFile(null)], null).body; // '{\n    "detailed": false, …'
 */
export function healthcheckReply(
  method: string,
  accept: string | undefined,
  results: readonly HealthResult[],
  facts: ServerFacts | null,
): HealthcheckReply {
  const healthy = results.every((r) => r.available);
  if (method === 'HEAD') {
    return healthy ? { status: 204, body: '' } : { status: 503, contentType: 'text/plain; charset=UTF-8', body: '' };
  }
  const status = healthy ? 200 : 503;
  switch (healthcheckFormat(accept)) {
    case 'application/json': {
      const body =
        facts === null
          ? { detailed: false, reasons: results.map((r) => r.reason) }
          : {
              detailed: true,
              gc: { counts: [], threshold: [] },
              greenthreads: [],
              now: facts.now,
              platform: facts.platform,
              python_version: facts.version,
              reasons: results.map((r) => ({ class: 'HealthcheckResult', details: r.details, reason: r.reason })),
              threads: [],
            };
      return { status, contentType: 'application/json', body: pythonPrettyJson(body) };
    }
    case 'text/html':
      return { status, contentType: 'text/html; charset=UTF-8', body: htmlPage(results, facts) };
    default:
      // The plain template: one reason a line, empty reasons skipped.
      return { status, contentType: 'text/plain; charset=UTF-8', body: results.map((r) => r.reason).filter((r) => r !== '').join('\n') };
  }
}
