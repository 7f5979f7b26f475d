/**
 * The one place where errors become HTTP responses, in Glance's fault format: webob error
 * pages, whose body format follows the Accept header (none → text/plain, text/html or a
 * wildcard → HTML, application/json → `{"message", "code", "title"}`).
 */
import { IrisError, type IrisErrorCode, type Unauthorized } from '../domain/errors.js';
import { isDetailStyle } from './glance-fault-style.js';
import { acceptQuality } from './accept.js';
import { pyJson } from './py-json.js';

export interface Fault {
  readonly status: number;
  /** Main text; replaces webob's default explanation for the status when given. */
  readonly explanation?: string;
  /** Second paragraph, as webob's `detail`. */
  readonly detail?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Overrides the whole body template (405 and 415 have their own in webob). */
  readonly template?: string;
  /** A body sent as is, whatever the Accept header (keystonemiddleware's 401). */
  readonly verbatim?: { readonly contentType: string; readonly body: string };
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Request Range Not Satisfiable',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const DEFAULT_EXPLANATIONS: Readonly<Record<number, string>> = {
  400: 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  401:
    'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.',
  403: 'Access was denied to this resource.',
  404: 'The resource could not be found.',
  408: 'The server timed out waiting for the request.',
  409: 'There was a conflict when trying to complete your request.',
  410: 'This resource is no longer available.  No forwarding address is given.',
  413: 'The body of your request was too large for this server.',
  416: 'The Range requested is not available.',
  500: 'The server has either erred or is incapable of performing the requested operation.',
  502: 'Bad gateway.',
  503: 'The server is currently unavailable. Please try again at a later time.',
  504: 'The gateway has timed out.',
};

const STATUS_OF: Readonly<Record<IrisErrorCode, number>> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  Gone: 410,
  TooLarge: 413,
  StorageFull: 413,
  UnsupportedMediaType: 415,
  RangeNotSatisfiable: 416,
  ServiceUnavailable: 503,
  ClientTimeout: 408,
};

/**
 * A fault decided in the HTTP layer itself, not by the domain: the answer of a node a request
 * was proxied to, or that node being unreachable (stage-host-proxy.ts).
 */
export class HttpFault extends Error {
  constructor(readonly fault: Fault, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HttpFault';
  }
}

/** Maps a domain error (or anything thrown) to a fault. Unknown errors are 500 without details. */
export function faultFor(error: unknown): Fault {
  if (error instanceof HttpFault) return error.fault;
  if (error instanceof IrisError) {
    const status = STATUS_OF[error.code];
    if (status === 416) {
      // Glance keeps webob's explanation and puts its reason in the detail paragraph.
      const size = (error as IrisError & { size?: number }).size;
      return {
        status,
        detail: error.message,
        headers: size === undefined ? undefined : { 'Content-Range': `bytes */${size}` },
      };
    }
    if (status === 415) return unsupportedMediaType(error.message);
    // Glance's 401 is webob's stock page: the reason stays in the logs.
    if (status === 401) return unauthorized(error as Unauthorized);
    // Some Glance errors keep webob's stock explanation and carry their text as the detail.
    if (isDetailStyle(error)) return { status, detail: error.message };
    return { status, explanation: error.message };
  }
  return { status: 500 };
}

/**
 * A 401 with a challenge comes from the Keystone step, which keystonemiddleware answers itself:
 * its JSON body whatever the Accept header, and `WWW-Authenticate: Keystone uri="…"`.
 */
function unauthorized(error: Unauthorized): Fault {
  if (error.challenge === undefined) return { status: 401 };
  return {
    status: 401,
    headers: { 'WWW-Authenticate': error.challenge },
    verbatim: {
      contentType: 'application/json',
      body: pyJson({
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      }),
    },
  };
}

export function methodNotAllowed(method: string, allow: readonly string[]): Fault {
  return {
    status: 405,
    headers: { Allow: allow.join(', ') },
    template: `The method ${method} is not allowed for this resource. <br /><br />\n`,
  };
}

export function unsupportedMediaType(contentType: string | undefined, headers?: Record<string, string>): Fault {
  return {
    status: 415,
    headers,
    template: `The request media type ${contentType ?? 'None'} is not supported by this server.\n<br /><br />\n`,
  };
}

type BodyFormat = 'text/plain' | 'text/html' | 'application/json';

/** webob's choice between its offers text/html and application/json, plain text otherwise. */
export function negotiateFaultFormat(accept: string | undefined): BodyFormat {
  if (!accept || accept.trim() === '') return 'text/plain';
  const html = acceptQuality(accept, 'text', 'html');
  const json = acceptQuality(accept, 'application', 'json');
  if (html <= 0 && json <= 0) return 'text/plain';
  return json > html ? 'application/json' : 'text/html';
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** webob's strip_tags: newlines become spaces, <br> becomes a newline, tags vanish. */
function stripTags(s: string): string {
  return s
    .replace(/\n/g, ' ')
    .replace(/\r/g, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<!--.*?-->/g, '')
    .replace(/<[^>]*>/g, '');
}

export interface RenderedFault {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Renders a fault the way webob renders an HTTP exception for this Accept header. */
export function renderFault(fault: Fault, accept: string | undefined): RenderedFault {
  const status = fault.status;
  if (fault.verbatim !== undefined) {
    return { status, contentType: fault.verbatim.contentType, body: fault.verbatim.body, headers: fault.headers ?? {} };
  }
  const title = TITLES[status] ?? 'Error';
  const statusLine = `${status} ${title}`;
  const format = negotiateFaultFormat(accept);
  const explanation = fault.explanation ?? DEFAULT_EXPLANATIONS[status] ?? '';
  const make = (escape: (s: string) => string): string =>
    fault.template !== undefined
      ? fault.template + escape(fault.detail ?? '')
      : `${escape(explanation)}<br /><br />\n${escape(fault.detail ?? '')}\n\n`;
  let body: string;
  let contentType: string;
  if (format === 'application/json') {
    contentType = 'application/json';
    body = pyJson({ message: make((s) => s), code: statusLine, title });
  } else if (format === 'text/html') {
    contentType = 'text/html; charset=UTF-8';
    body = `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n  ${make(htmlEscape)}\n </body>\n</html>`;
  } else {
    contentType = 'text/plain; charset=UTF-8';
    body = `${statusLine}\n\n${stripTags(make((s) => s))}`;
  }
  return { status, contentType, body, headers: fault.headers ?? {} };
}
