/**
 * Keystone unified limits ([oslo_limit]) as oslo.limit's flat enforcer reads them: the
 * endpoint names the service and region; a project's limit of a resource is its project limit,
 * else the registered (default) limit, else none (counted as 0 by the caller).
 *
 * Iris authenticates with the [oslo_limit] password credentials (system-scoped with
 * `system_scope = all`, which Keystone requires to list other projects' limits), keeps the
 * token until shortly before it expires, and reuses limits for `cacheMs` (Glance reads them
 * on every check; a short cache saves two Keystone calls per resource per request).
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { LimitResource, LimitSource } from '../domain/quota.js';
import { identityV3Url, KeystoneUnavailableError } from './keystone-client.js';

export interface KeystoneLimitOptions {
  readonly authUrl: string;
  readonly endpointId: string;
  readonly username: string;
  readonly userId: string;
  readonly password: string;
  readonly userDomainId: string;
  readonly userDomainName: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly projectDomainId: string;
  readonly projectDomainName: string;
  readonly systemScope: string;
  /** Bound on each exchange with Keystone. */
  readonly timeoutMs: number;
  /** How long a limit read is reused; 0 = read every time. */
  readonly cacheMs: number;
  readonly now?: () => number;
  readonly dispatcher?: Dispatcher;
}

/** The enforcement model oslo.limit supports (strict-two-level is not implemented there either). */
const FLAT = 'flat';
/** Renew the service token this long before Keystone says it expires. */
const TOKEN_MARGIN_MS = 60_000;

/** A `domain` object for keystoneauth's password plugin: by id when given, else by name. */
function domainOf(id: string, name: string): Record<string, string> | undefined {
  if (id !== '') return { id };
  if (name !== '') return { name };
  return undefined;
}

export function createKeystoneLimitSource(opts: KeystoneLimitOptions): LimitSource & { close(): Promise<void> } {
  const base = identityV3Url(opts.authUrl);
  const now = opts.now ?? Date.now;
  const dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 8 });
  let token: { value: string; until: number } | undefined;
  let endpoint: Promise<{ serviceId: string; regionId: string | null }> | undefined;
  const cache = new Map<string, { value: number | undefined; until: number }>();

  async function call(method: 'GET' | 'POST', path: string, body?: unknown, auth?: string): Promise<{ status: number; json: any; headers: Dispatcher.ResponseData['headers'] }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'iris-keystone-limits' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth !== undefined) headers['x-auth-token'] = auth;
    let text: string;
    let status: number;
    let resHeaders: Dispatcher.ResponseData['headers'];
    try {
      const res = await request(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      text = await res.body.text();
      status = res.statusCode;
      resHeaders = res.headers;
    } catch (e) {
      throw new KeystoneUnavailableError(`unified limits: cannot reach Keystone (${base}): ${(e as Error).message}`, { cause: e });
    }
    let json: any = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    return { status, json, headers: resHeaders };
  }

  async function serviceToken(): Promise<string> {
    if (token !== undefined && token.until > now()) return token.value;
    const user: Record<string, unknown> = { password: opts.password };
    if (opts.userId !== '') user.id = opts.userId;
    else {
      user.name = opts.username;
      const domain = domainOf(opts.userDomainId, opts.userDomainName);
      if (domain) user.domain = domain;
    }
    let scope: Record<string, unknown> | undefined;
    if (opts.systemScope !== '') scope = { system: { [opts.systemScope]: true } };
    else if (opts.projectId !== '') scope = { project: { id: opts.projectId } };
    else if (opts.projectName !== '') scope = { project: { name: opts.projectName, domain: domainOf(opts.projectDomainId, opts.projectDomainName) } };
    const res = await call('POST', '/auth/tokens', { auth: { identity: { methods: ['password'], password: { user } }, ...(scope ? { scope } : {}) } });
    const subject = res.headers['x-subject-token'];
    const value = Array.isArray(subject) ? subject[0] : subject;
    const expires = Date.parse(res.json?.token?.expires_at ?? '');
    if (res.status !== 201 || !value || Number.isNaN(expires)) {
      throw new KeystoneUnavailableError(`unified limits: Keystone refused the [oslo_limit] credentials (${res.status})`);
    }
    token = { value, until: Math.max(now(), expires - TOKEN_MARGIN_MS) };
    return value;
  }

  async function get(path: string): Promise<any> {
    let res = await call('GET', path, undefined, await serviceToken());
    if (res.status === 401) {
      // The token was revoked or expired early: one fresh one.
      token = undefined;
      res = await call('GET', path, undefined, await serviceToken());
    }
    if (res.status !== 200) throw new KeystoneUnavailableError(`unified limits: GET ${path} answered ${res.status}`);
    return res.json;
  }

  function endpointInfo(): Promise<{ serviceId: string; regionId: string | null }> {
    endpoint ??= (async () => {
      const model = (await get('/limits/model'))?.model?.name;
      if (model !== FLAT) throw new Error(`unified limits: enforcement model ${String(model)} is not supported`);
      const found = (await get(`/endpoints/${encodeURIComponent(opts.endpointId)}`))?.endpoint;
      if (!found?.service_id) throw new Error(`unified limits: can't find endpoint for ${opts.endpointId}`);
      return { serviceId: found.service_id as string, regionId: (found.region_id as string | null) ?? null };
    })().catch((e: unknown) => {
      endpoint = undefined; // asked again next time
      throw e;
    });
    return endpoint;
  }

  async function limitOf(projectId: string | null, resource: LimitResource): Promise<number | undefined> {
    const key = `${projectId ?? ''}\u0000${resource}`;
    const hit = cache.get(key);
    if (hit !== undefined && hit.until > now()) return hit.value;
    const { serviceId, regionId } = await endpointInfo();
    const filter = new URLSearchParams({ service_id: serviceId, resource_name: resource });
    if (regionId !== null) filter.set('region_id', regionId);
    let value: number | undefined;
    if (projectId !== null) {
      const own = (await get(`/limits?${filter.toString()}&project_id=${encodeURIComponent(projectId)}`))?.limits?.[0];
      if (own) value = Number(own.resource_limit);
    }
    if (value === undefined) {
      const registered = (await get(`/registered_limits?${filter.toString()}`))?.registered_limits?.[0];
      if (registered) value = Number(registered.default_limit);
    }
    if (opts.cacheMs > 0) cache.set(key, { value, until: now() + opts.cacheMs });
    return value;
  }

  return {
    async limitsFor(projectId, resources) {
      const out: Partial<Record<LimitResource, number>> = {};
      for (const resource of resources) {
        const value = await limitOf(projectId, resource);
        if (value !== undefined) out[resource] = value;
      }
      return out;
    },
    async close() {
      if (opts.dispatcher === undefined) await (dispatcher as Agent).close();
    },
  };
}
