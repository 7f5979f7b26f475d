/**
 * Replays a request on the node that holds an image's staged data (node-local staging with
 * `worker_self_reference_url`), as Glance 25.1.0's `_proxy_request_to_stage_host` (import and
 * delete): same method, path and JSON body, the caller's credentials, a 60 s bound; the remote request id replaces
 * ours. A remote error answer is relayed with its status (an empty explanation, as Glance's
 * ad-hoc webob error); a node that cannot be reached is 504 "Stage host is unavailable", any
 * other failure of the call 502 with the same text.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { request } from 'undici';
import { HttpFault } from './faults.js';
import { IDENTITY_HEADERS } from '../auth/request-context.js';

/** Glance's timeout=60 on the proxied call. */
const PROXY_TIMEOUT_MS = 60_000;

/**
 * The caller's credentials: the token (Keystone, API keys) and the identity headers the header
 * flavors read (hybrid, noauth). A Keystone node ignores the latter, as keystonemiddleware does.
 */
const CREDENTIAL_HEADERS = ['x-auth-token', ...IDENTITY_HEADERS] as const;

/** Errors of the connection itself (requests' ConnectionError / ConnectTimeout): 504. */
function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_SOCKET') return true;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  }
  return false;
}

/**
 * Replays the request (`method`, its path, `body` when given) on `stageHost` with the caller's
 * credentials; the remote request id becomes the answer's. Resolves when the remote answered
 * 2xx; otherwise throws an HttpFault with the remote status (or 504/502 when it could not be
 * reached).
 */
export async function replayOnStageHost(req: FastifyRequest, reply: FastifyReply, stageHost: string, body?: unknown): Promise<void> {
  const path = req.url.split('?')[0]!;
  const url = `${stageHost.replace(/\/+$/, '')}${path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  for (const name of CREDENTIAL_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  let status: number;
  let remoteId: string | undefined;
  try {
    const res = await request(url, {
      method: req.method as 'POST' | 'DELETE',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: PROXY_TIMEOUT_MS,
      bodyTimeout: PROXY_TIMEOUT_MS,
      signal: AbortSignal.timeout(PROXY_TIMEOUT_MS * 2),
    });
    status = res.statusCode;
    const id = res.headers['x-openstack-request-id'];
    remoteId = typeof id === 'string' ? id : undefined;
    await res.body.dump();
  } catch (err) {
    const fault = isConnectionError(err) ? { status: 504, detail: 'Stage host is unavailable' } : { status: 502, detail: 'Stage host is unavailable' };
    // The server's error handler logs it (every 5xx) with the cause.
    throw new HttpFault(fault, `Failed to proxy to ${url}: stage host unavailable`, { cause: err });
  }
  // The caller sees the id of the request that did the work.
  if (remoteId !== undefined) reply.header('x-openstack-request-id', remoteId);
  if (Math.floor(status / 100) !== 2) {
    throw new HttpFault({ status, explanation: '' }, `stage host ${stageHost} answered ${status}`);
  }
}

/** POST /import replayed on the stage host: answered 202 as the local import when it accepted. */
export async function proxyToStageHost(req: FastifyRequest, reply: FastifyReply, stageHost: string, body: unknown): Promise<FastifyReply> {
  await replayOnStageHost(req, reply, stageHost, body);
  return reply.code(202).header('content-type', 'text/html; charset=UTF-8').send();
}
